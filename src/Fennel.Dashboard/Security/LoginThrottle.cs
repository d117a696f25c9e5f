using System.Collections.Concurrent;
using System.Net;

namespace Fennel.Dashboard.Security;

/// <summary>
/// Counts failed sign-ins per client address and user name in a sliding window; past the limit the pair is locked out
/// (even a right password gets 429) until the oldest failure leaves the window.
/// </summary>
internal sealed class LoginThrottle(FennelDashboardOptions options, TimeProvider time)
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<(string Address, string User), Queue<DateTimeOffset>> _failures = new();

    /// <summary>How long the pair must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(IPAddress? address, string user)
    {
        if (!_failures.TryGetValue(Key(address, user), out var failures)) return null;
        var now = time.GetUtcNow();
        lock (failures)
        {
            Expire(failures, now);
            if (failures.Count < options.MaxFailedLogins) return null;
            var wait = failures.Peek() + options.LoginThrottleWindow - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1);
        }
    }

    /// <summary>Records a failed sign-in.</summary>
    public void Failed(IPAddress? address, string user)
    {
        if (_failures.Count > PruneAbove) Prune();
        var failures = _failures.GetOrAdd(Key(address, user), _ => new Queue<DateTimeOffset>());
        var now = time.GetUtcNow();
        lock (failures)
        {
            Expire(failures, now);
            failures.Enqueue(now);
        }
    }

    private void Expire(Queue<DateTimeOffset> failures, DateTimeOffset now)
    {
        while (failures.Count > 0 && now - failures.Peek() >= options.LoginThrottleWindow) failures.Dequeue();
    }

    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var (key, failures) in _failures)
        {
            lock (failures)
            {
                Expire(failures, now);
                if (failures.Count == 0) _failures.TryRemove(key, out _);
            }
        }
    }

    private static (string, string) Key(IPAddress? address, string user) => (address?.ToString() ?? "?", user);
}
