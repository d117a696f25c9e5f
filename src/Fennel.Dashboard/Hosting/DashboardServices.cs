using Fennel.Dashboard.History;
using Fennel.Dashboard.Security;
using Fennel.Monitoring;
using Microsoft.AspNetCore.Http;

namespace Fennel.Dashboard.Hosting;

/// <summary>What one dashboard holds: the app it watches, its options, the cluster state, the task history and the security bookkeeping.</summary>
internal sealed class DashboardServices
{
    private readonly Lock _prefixesGate = new();
    private PathString[] _prefixes = [];

    public DashboardServices(FennelApp app, FennelDashboardOptions options, TimeProvider time)
    {
        App = app;
        Options = options;
        Time = time;
        State = new ClusterState(options.ClusterState, time);
        Throttle = new LoginThrottle(options, time);
        Audit = new AuditTrail(options.AuditCapacity);
    }

    public FennelApp App { get; }

    public FennelDashboardOptions Options { get; }

    public TimeProvider Time { get; }

    public ClusterState State { get; }

    public LoginThrottle Throttle { get; }

    public PasswordVerifier Verifier { get; } = new();

    public AuditTrail Audit { get; }

    private readonly TaskCompletionSource<TaskHistoryStore> _history = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The task history, once <see cref="TaskHistoryHost"/> has opened it (when the host starts); faulted when it could not be opened.</summary>
    public Task<TaskHistoryStore> History => _history.Task;

    public void HistoryOpened(TaskHistoryStore store) => _history.TrySetResult(store);

    public void HistoryFailed(Exception exception) => _history.TrySetException(exception);

    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once <see cref="EventFeed"/> is subscribed to the events (at start, or when the broker is back).</summary>
    public Task Subscribed => _subscribed.Task;

    public void FeedSubscribed() => _subscribed.TrySetResult();

    /// <summary>The paths the dashboard is mapped under (security headers go on every response below them).</summary>
    public IReadOnlyList<PathString> Prefixes => Volatile.Read(ref _prefixes);

    public void AddPrefix(PathString prefix)
    {
        lock (_prefixesGate) _prefixes = [.. _prefixes, prefix];
    }

    public bool Covers(PathString path) => Prefixes.Any(p => !p.HasValue || path.StartsWithSegments(p));
}
