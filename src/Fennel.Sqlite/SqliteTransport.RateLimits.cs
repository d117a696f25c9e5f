using Fennel.Transport;

namespace Fennel.Sqlite;

/// <summary>
/// Cluster-wide rate limits: the time the next turn of a limit is free, in the table <c>rate_limits</c>, read and moved
/// on in one <c>BEGIN IMMEDIATE</c> transaction, so two processes never both take one turn. Every process shares the
/// file on one machine, so they share one clock too.
/// </summary>
/// <remarks>
/// The table is created on first use (<c>CREATE TABLE IF NOT EXISTS</c>) rather than in the schema version: it holds
/// one row per rate-limited task name and nothing that would need an upgrade step, and a file without it still opens
/// with older Fennels. Fold it into the next schema version when one is written.
/// </remarks>
public sealed partial class SqliteTransport : ISharedRateLimiter
{
    private const string CreateRateLimits = """
        CREATE TABLE IF NOT EXISTS rate_limits (
            name     TEXT PRIMARY KEY,
            free_at  INTEGER NOT NULL -- Unix microseconds: when the next turn may be taken
        ) WITHOUT ROWID;
        """;

    private volatile bool _rateLimitsCreated;

    /// <inheritdoc />
    public async Task<TimeSpan> TryTakeTurnAsync(string key, TimeSpan interval, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var microseconds = Math.Max(1L, interval.Ticks / 10);
        var wait = await _database.WriteAsync(async command =>
        {
            if (!_rateLimitsCreated)
            {
                command.CommandText = CreateRateLimits;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
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
        _rateLimitsCreated = true;
        return TimeSpan.FromTicks(wait * 10);
    }
}
