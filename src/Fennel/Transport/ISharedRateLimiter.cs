namespace Fennel.Transport;

/// <summary>
/// A rate limit kept in the broker, so every worker on it shares one: turns of a named limit come at most one per
/// interval, whoever takes them (GCRA with no burst: the broker keeps the time the next turn is free). Transports that
/// offer it implement this interface (Redis, SQLite).
/// </summary>
public interface ISharedRateLimiter
{
    /// <summary>
    /// Takes the next turn of the limit <paramref name="key"/> if it is free, spacing turns <paramref name="interval"/>
    /// apart. Returns <see cref="TimeSpan.Zero"/> when the turn was taken, else how long until the next one is free
    /// (nothing taken). Atomic across processes: two callers never both get one turn.
    /// </summary>
    /// <exception cref="BrokerException">The broker could not be asked; nothing was taken.</exception>
    Task<TimeSpan> TryTakeTurnAsync(string key, TimeSpan interval, CancellationToken cancellationToken = default);
}
