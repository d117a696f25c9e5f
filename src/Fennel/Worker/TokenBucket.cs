namespace Fennel.Worker;

/// <summary>
/// A worker's own rate limit for one task: kombu's token bucket with capacity 1, so a task starts at most once per
/// interval and an idle period saves up no burst. Thread-safe.
/// </summary>
internal sealed class TokenBucket(TimeProvider time)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    /// <summary>
    /// Takes the token if it is there (and the next one comes <paramref name="interval"/> later): returns
    /// <see cref="TimeSpan.Zero"/>. Otherwise takes nothing and returns how long until the token is back.
    /// </summary>
    /// <remarks>The interval is given on each call, so a rate changed at run time applies from the next turn.</remarks>
    public TimeSpan TryTake(TimeSpan interval)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (now < _next) return _next - now;
            _next = now + interval;
            return TimeSpan.Zero;
        }
    }
}
