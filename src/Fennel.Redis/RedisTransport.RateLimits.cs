using System.Globalization;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// Cluster-wide rate limits: the time the next turn of a limit is free, in <c>_fennel.rate_limit.&lt;task&gt;</c>, read
/// and moved on in one script on the server's clock (<c>TIME</c>), so workers with skewed clocks still share one pace.
/// The key expires a second after the turn it guards, so an idle limit leaves nothing behind.
/// </summary>
public sealed partial class RedisTransport : ISharedRateLimiter
{
    /// <summary>KEYS[1] the limit; ARGV[1] the interval in microseconds. Returns 0 when the turn was taken, else the wait in microseconds.</summary>
    private const string TakeTurnScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local interval = tonumber(ARGV[1])
        local free = tonumber(redis.call('GET', KEYS[1]) or '0')
        if free > now then return free - now end
        redis.call('SET', KEYS[1], string.format('%.0f', now + interval), 'PX', math.ceil(interval / 1000) + 1000)
        return 0
        """;

    /// <inheritdoc />
    public async Task<TimeSpan> TryTakeTurnAsync(string key, TimeSpan interval, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var microseconds = Math.Max(1L, interval.Ticks / 10);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var result = await _connection.Guard(database.ScriptEvaluateAsync(TakeTurnScript, [RedisKeys.RateLimit(key)],
            [microseconds.ToString(CultureInfo.InvariantCulture)]), "take a rate-limit turn for " + key).ConfigureAwait(false);
        var wait = (long)result;
        return wait <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks(wait * 10);
    }
}
