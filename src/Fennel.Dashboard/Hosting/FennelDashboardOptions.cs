using Fennel.Dashboard.History;
using Fennel.Monitoring;

namespace Fennel.Dashboard;

/// <summary>How the dashboard authenticates, what it keeps (in memory and on disk) and how long it waits for workers.</summary>
public sealed class FennelDashboardOptions
{
    /// <summary>
    /// Who may sign in (HTTP basic authentication). <value>Default: none, and then only requests from a loopback address
    /// are let in (as an administrator named <c>local</c>); every other request gets 401.</value>
    /// </summary>
    public IList<FennelDashboardUser> Users { get; } = [];

    /// <summary>Failed sign-ins allowed per client address and user name within <see cref="LoginThrottleWindow"/>; the next gets 429. <value>Default: 10.</value></summary>
    public int MaxFailedLogins { get; set; } = 10;

    /// <summary>The window failed sign-ins are counted in. <value>Default: 1 minute.</value></summary>
    public TimeSpan LoginThrottleWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a control action or a live query (<c>stats</c>, <c>active_queues</c>) waits for replies. <value>Default: 2 seconds.</value></summary>
    public TimeSpan ControlTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many audit records are kept in memory for <c>GET /api/audit</c> (all go to the log). <value>Default: 1000.</value></summary>
    public int AuditCapacity { get; set; } = 1000;

    /// <summary>Bounds of the in-memory cluster state the API reads. <value>Default: <see cref="ClusterStateOptions"/>'s defaults.</value></summary>
    public ClusterStateOptions ClusterState { get; set; } = new();

    /// <summary>
    /// Where and how much task and worker history is kept (SQLite, survives restarts): <c>GET /api/tasks</c>,
    /// <c>/api/tasks/{id}</c> and <c>/api/overview</c> read it. <value>Default: <see cref="TaskHistoryOptions"/>'s defaults
    /// (<c>fennel-dashboard.db</c> in the current directory, 7 days, 100 000 tasks).</value>
    /// </summary>
    public TaskHistoryOptions History { get; set; } = new();

    /// <summary>How often the live stream (<c>GET /api/live</c>) sends a snapshot. <value>Default: 1 second.</value></summary>
    public TimeSpan LiveInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The Prometheus endpoint (<c>GET {prefix}/metrics</c>): who may read it, how many task names it keeps. <value>Default: the dashboard's users, 1000 names.</value></summary>
    public FennelDashboardMetricsOptions Metrics { get; set; } = new();

    /// <summary>The realm named in <c>WWW-Authenticate</c>. <value>Default: <c>Fennel</c>.</value></summary>
    public string Realm { get; set; } = "Fennel";

    /// <summary>Checks the options; throws with what is wrong.</summary>
    /// <exception cref="FennelConfigurationException">An option is out of range or a user is incomplete.</exception>
    public void Validate()
    {
        if (MaxFailedLogins < 1) throw new FennelConfigurationException($"Dashboard MaxFailedLogins must be at least 1 (was {MaxFailedLogins}).");
        if (LoginThrottleWindow <= TimeSpan.Zero) throw new FennelConfigurationException("Dashboard LoginThrottleWindow must be positive.");
        if (ControlTimeout <= TimeSpan.Zero) throw new FennelConfigurationException("Dashboard ControlTimeout must be positive.");
        if (AuditCapacity < 0) throw new FennelConfigurationException("Dashboard AuditCapacity cannot be negative.");
        if (string.IsNullOrWhiteSpace(Realm) || Realm.Contains('"', StringComparison.Ordinal)) throw new FennelConfigurationException("Dashboard Realm must be non-empty, without quotes.");
        if (LiveInterval < TimeSpan.FromMilliseconds(50) || LiveInterval > TimeSpan.FromMinutes(1)) throw new FennelConfigurationException($"Dashboard LiveInterval must be from 50 ms to 1 minute (was {LiveInterval}).");
        if (Metrics is null) throw new FennelConfigurationException("Dashboard Metrics cannot be null.");
        Metrics.Validate();
        ClusterState.Validate();
        if (History is null) throw new FennelConfigurationException("Dashboard History cannot be null.");
        History.Validate();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in Users)
        {
            if (string.IsNullOrEmpty(user.Name) || user.Name.Contains(':', StringComparison.Ordinal))
            {
                throw new FennelConfigurationException("A dashboard user needs a name without ':'.");
            }
            if (!names.Add(user.Name)) throw new FennelConfigurationException($"The dashboard user '{user.Name}' is configured twice.");
            if (string.IsNullOrEmpty(user.Password) == string.IsNullOrEmpty(user.PasswordHash))
            {
                throw new FennelConfigurationException($"The dashboard user '{user.Name}' needs exactly one of Password and PasswordHash.");
            }
        }
    }
}
