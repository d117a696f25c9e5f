using Fennel.Transport;

namespace Fennel.Sqlite;

/// <summary>
/// Cluster-wide rate limits: the time the next turn of a limit is free, in the table <c>rate_limits</c> (schema version
/// 3), read and moved on in one <c>BEGIN IMMEDIATE</c> transaction, so two processes never both take one turn. Every
/// process shares the file on one machine, so they share one clock too.
/// </summary>
public sealed partial class SqliteTransport : ISharedRateLimiter
{
    /// <inheritdoc />
    public async Task<TimeSpan> TryTakeTurnAsync(string key, TimeSpan interval, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var microseconds = Math.Max(1L, interval.Ticks / 10);
        var wait = await _database.WriteAsync(async command =>
        {
            var now = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
            command.CommandText = "SELECT free_at FROM rate_limits WHERE name = $name";
            command.Parameters.AddWithValue("$name", key);
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long free && free > now) return free - now;
            command.CommandText = """
                INSERT INTO rate_limits (name, free_at) VALUES ($name, $free)
                ON CONFLICT (name) DO UPDATE SET free_at = excluded.free_at
                """;
            command.Parameters.AddWithValue("$free", now + microseconds);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return 0L;
        }, cancellationToken).ConfigureAwait(false);
        return TimeSpan.FromTicks(wait * 10);
    }
}
