using Fennel.Dashboard.Security;
using Fennel.Monitoring;
using Microsoft.AspNetCore.Http;

namespace Fennel.Dashboard.Hosting;

/// <summary>What one dashboard holds: the app it watches, its options, the cluster state and the security bookkeeping.</summary>
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

    /// <summary>The paths the dashboard is mapped under (security headers go on every response below them).</summary>
    public IReadOnlyList<PathString> Prefixes => Volatile.Read(ref _prefixes);

    public void AddPrefix(PathString prefix)
    {
        lock (_prefixesGate) _prefixes = [.. _prefixes, prefix];
    }

    public bool Covers(PathString path) => Prefixes.Any(p => !p.HasValue || path.StartsWithSegments(p));
}
