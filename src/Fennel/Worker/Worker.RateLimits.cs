using System.Collections.Concurrent;
using Fennel.Configuration;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.Worker;

// Rate limits: which tasks are limited and by whom (this worker or the broker), changing a limit at run time, and the
// prefetch slots of messages waiting for their turn.
public sealed partial class Worker
{
    /// <summary>Hardly ever give a rate-limited message back for longer than this: it is fetched again when due.</summary>
    private static readonly TimeSpan LongestGiveBack = TimeSpan.FromHours(1);

    private readonly Lock _rateGate = new();
    private readonly Dictionary<string, RateLimit?> _rateOverrides = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RateLimitLine> _rateLines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _waitingWithoutSlot = new(StringComparer.Ordinal);
    private int _waitingWithoutSlotCount;
    private ISharedRateLimiter? _sharedLimiter;

    /// <summary>
    /// Changes the rate limit of <paramref name="taskName"/> on this worker (the remote-control <c>rate_limit</c> command):
    /// <c>"100/s"</c>, <c>"10/m"</c>, <c>"500/h"</c> or a number per second; null or <c>"0"</c> removes it. Messages
    /// already waiting for their turn follow the new rate within a second. The scope (this worker or the cluster) stays
    /// the task's; for a cluster-wide limit, set the same rate on every worker.
    /// </summary>
    /// <exception cref="ArgumentException">No such task is registered, or the rate is not one.</exception>
    public void SetRateLimit(string taskName, string? rate)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskName);
        if (!_app.Tasks.TryGet(taskName, out var task))
        {
            throw new ArgumentException($"No task named '{taskName}' is registered on {Name}; its rate limit cannot be changed.", nameof(taskName));
        }
        if (!RateLimit.TryParse(rate, out var parsed, out var error)) throw new ArgumentException(error, nameof(rate));
        lock (_rateGate)
        {
            _rateOverrides[taskName] = parsed;
            if (_rateLines.TryGetValue(taskName, out var line)) line.Rate = parsed;
        }
        Log.RateLimitChanged(_logger, Name, taskName, parsed?.Text ?? "none", IsClusterWide(task) ? "cluster-wide" : "per worker");
    }

    /// <summary>The rate limit of <paramref name="taskName"/> in force on this worker; null for none.</summary>
    public RateLimit? GetRateLimit(string taskName)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskName);
        lock (_rateGate)
        {
            if (_rateOverrides.TryGetValue(taskName, out var changed)) return changed;
        }
        return _app.Tasks.TryGet(taskName, out var task) ? task.RateLimit : null;
    }

    /// <summary>
    /// At start: finds the broker's shared limiter, and refuses to start when a task asks for a cluster-wide limit the
    /// broker cannot keep (unless the app opted into limiting per worker instead).
    /// </summary>
    private void PrepareRateLimits()
    {
        _sharedLimiter = _transport as ISharedRateLimiter;
        var clusterWide = _app.Tasks.All.Where(t => ScopeOf(t) == RateLimitScope.Cluster).Select(t => t.Name).ToList();
        if (_sharedLimiter is null && clusterWide.Count > 0)
        {
            var what = _app.Options.RateLimitScope == RateLimitScope.Cluster
                ? "Fennel:RateLimitScope = Cluster asks for"
                : $"task(s) {string.Join(", ", clusterWide)} ask for";
            var broker = BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl);
            if (!_app.Options.ClusterRateLimitFallback)
            {
                throw new FennelConfigurationException(
                    $"{what} a cluster-wide rate limit, but the broker '{broker}' cannot share one (Redis and SQLite can). " +
                    "Use a Redis or SQLite broker, set the scope to Worker, or set Fennel:ClusterRateLimitFallback to true to limit each worker on its own.");
            }
            Log.ClusterRateLimitFallback(_logger, Name, what, broker);
        }
        var limits = _app.Tasks.All.Where(t => t.RateLimit is not null)
            .Select(t => $"{t.Name} {t.RateLimit} ({(IsClusterWide(t) ? "cluster-wide" : "per worker")})").ToList();
        if (limits.Count > 0) Log.RateLimits(_logger, Name, string.Join(", ", limits));
    }

    private RateLimitScope ScopeOf(TaskDefinition task) => task.Options.RateLimitScope ?? _app.Options.RateLimitScope;

    private bool IsClusterWide(TaskDefinition task) => ScopeOf(task) == RateLimitScope.Cluster && _sharedLimiter is not null;

    /// <summary>The waiting line of <paramref name="task"/> when it is rate-limited now; null when it is not.</summary>
    private RateLimitLine? RateLimitLineFor(TaskDefinition task)
    {
        if (_rateLines.TryGetValue(task.Name, out var line)) return line.Rate is null ? null : line;
        lock (_rateGate)
        {
            var rate = _rateOverrides.TryGetValue(task.Name, out var changed) ? changed : task.RateLimit;
            if (rate is null) return null;
            return _rateLines.GetOrAdd(task.Name, name => new RateLimitLine(name, rate, IsClusterWide(task) ? _sharedLimiter : null,
                _time, _logger, Name, _stopRenewing.Token));
        }
    }

    /// <summary>
    /// A rate-limited message about to wait for its turn gives its prefetch slot back, so the worker keeps fetching
    /// other tasks — as long as fewer than <see cref="Prefetch"/> messages are held so (memory stays bounded: at most
    /// twice the prefetch is held). It stays outside the prefetch count until it is settled, through its turn, the pool
    /// and its run: taking a slot again when its turn comes would race the consumer, which holds free slots while it
    /// waits for messages, and delay the turn. False when it must keep its slot.
    /// </summary>
    private bool TryWaitWithoutSlot(Delivery delivery)
    {
        if (Interlocked.Increment(ref _waitingWithoutSlotCount) > Prefetch)
        {
            Interlocked.Decrement(ref _waitingWithoutSlotCount);
            return false;
        }
        _waitingWithoutSlot[delivery.DeliveryTag] = true;
        ReturnSlots(1);
        return true;
    }

    /// <summary>True when <see cref="Prefetch"/> rate-limited messages are already held without a slot.</summary>
    private bool RateLimitWaitersFull => Volatile.Read(ref _waitingWithoutSlotCount) >= Prefetch;

    /// <summary>False (and forgets it) when the message was held without a prefetch slot; true when it holds one.</summary>
    private bool HoldsSlot(string deliveryTag)
    {
        if (!_waitingWithoutSlot.TryRemove(deliveryTag, out _)) return true;
        Interlocked.Decrement(ref _waitingWithoutSlotCount);
        return false;
    }

    /// <summary>
    /// Gives a rate-limited message back to the broker, invisible until about when its turn would come, when enough
    /// already wait here: true when it was given back.
    /// </summary>
    private async Task<bool> GiveBackWhenManyWaitAsync(TaskJob job, RateLimitLine line)
    {
        if (!RateLimitWaitersFull || !_transport.Capabilities.HasFlag(TransportCapabilities.DelayedDelivery)) return false;
        var rate = line.Rate;
        if (rate is null) return false;
        var waiting = line.Count;
        var wait = TimeSpan.FromTicks(Math.Clamp(rate.Interval.Ticks * (waiting + 1L), TimeSpan.TicksPerSecond, LongestGiveBack.Ticks));
        var until = _time.GetUtcNow() + wait;
        Log.RateLimitedGivenBack(_logger, job.Message.DisplayName, job.Message.Id, rate.Text, waiting, Name, until);
        await ReleaseAsync(job.Delivery, "give back a rate-limited message until its turn", until).ConfigureAwait(false);
        return true;
    }
}
