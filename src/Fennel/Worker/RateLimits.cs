using System.Collections.Concurrent;
using Fennel.Configuration;
using Fennel.Tasks;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// Which tasks are rate-limited on a worker and by whom (this worker, or the broker for the cluster), the limits changed
/// at run time (the <c>rate_limit</c> command), and each limited task's waiting line (<see cref="RateLimitLine"/>).
/// The dispatcher asks it for a task's line; it calls only the broker's shared limiter, through the lines.
/// </summary>
internal sealed class RateLimits(FennelApp app, TimeProvider time, ILogger logger, string node, CancellationToken stopping)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RateLimit?> _overrides = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RateLimitLine> _lines = new(StringComparer.Ordinal);
    private ISharedRateLimiter? _shared;

    /// <summary>
    /// At start: finds the broker's shared limiter, and refuses to start when a task asks for a cluster-wide limit the
    /// broker cannot keep (unless the app opted into limiting per worker instead).
    /// </summary>
    public void Prepare(ITransport transport)
    {
        _shared = transport as ISharedRateLimiter;
        var clusterWide = app.Tasks.All.Where(t => ScopeOf(t) == RateLimitScope.Cluster).Select(t => t.Name).ToList();
        if (_shared is null && clusterWide.Count > 0)
        {
            var what = app.Options.RateLimitScope == RateLimitScope.Cluster
                ? "Fennel:RateLimitScope = Cluster asks for"
                : $"task(s) {string.Join(", ", clusterWide)} ask for";
            var broker = BrokerUrls.Redact(app.Options.EffectiveBrokerUrl);
            if (!app.Options.ClusterRateLimitFallback)
            {
                throw new FennelConfigurationException(
                    $"{what} a cluster-wide rate limit, but the broker '{broker}' cannot share one (Redis and SQLite can). " +
                    "Use a Redis or SQLite broker, set the scope to Worker, or set Fennel:ClusterRateLimitFallback to true to limit each worker on its own.");
            }
            Log.ClusterRateLimitFallback(logger, node, what, broker);
        }
        var limits = app.Tasks.All.Where(t => t.RateLimit is not null)
            .Select(t => $"{t.Name} {t.RateLimit} ({(IsClusterWide(t) ? "cluster-wide" : "per worker")})").ToList();
        if (limits.Count > 0) Log.RateLimits(logger, node, string.Join(", ", limits));
    }

    /// <summary>Changes the rate limit of <paramref name="taskName"/>; see <see cref="Worker.SetRateLimit"/>.</summary>
    public void Set(string taskName, string? rate)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskName);
        if (!app.Tasks.TryGet(taskName, out var task))
        {
            throw new ArgumentException($"No task named '{taskName}' is registered on {node}; its rate limit cannot be changed.", nameof(taskName));
        }
        if (!RateLimit.TryParse(rate, out var parsed, out var error)) throw new ArgumentException(error, nameof(rate));
        lock (_gate)
        {
            _overrides[taskName] = parsed;
            if (_lines.TryGetValue(taskName, out var line)) line.Rate = parsed;
        }
        Log.RateLimitChanged(logger, node, taskName, parsed?.Text ?? "none", IsClusterWide(task) ? "cluster-wide" : "per worker");
    }

    /// <summary>The rate limit of <paramref name="taskName"/> in force; null for none.</summary>
    public RateLimit? Get(string taskName)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskName);
        lock (_gate)
        {
            if (_overrides.TryGetValue(taskName, out var changed)) return changed;
        }
        return app.Tasks.TryGet(taskName, out var task) ? task.RateLimit : null;
    }

    /// <summary>The waiting line of <paramref name="task"/> when it is rate-limited now; null when it is not.</summary>
    public RateLimitLine? LineFor(TaskDefinition task)
    {
        if (_lines.TryGetValue(task.Name, out var line)) return line.Rate is null ? null : line;
        lock (_gate)
        {
            var rate = _overrides.TryGetValue(task.Name, out var changed) ? changed : task.RateLimit;
            if (rate is null) return null;
            return _lines.GetOrAdd(task.Name, name => new RateLimitLine(name, rate, IsClusterWide(task) ? _shared : null,
                time, logger, node, stopping));
        }
    }

    private RateLimitScope ScopeOf(TaskDefinition task) => task.Options.RateLimitScope ?? app.Options.RateLimitScope;

    private bool IsClusterWide(TaskDefinition task) => ScopeOf(task) == RateLimitScope.Cluster && _shared is not null;
}
