namespace Fennel.Dashboard;

/// <summary>Who may read the Prometheus endpoint (<c>GET {prefix}/metrics</c>).</summary>
public enum FennelMetricsAccess
{
    /// <summary>The dashboard's users, as every other route (basic authentication, or loopback only without users).</summary>
    Dashboard,

    /// <summary><c>Authorization: Bearer &lt;token&gt;</c> with <see cref="FennelDashboardMetricsOptions.BearerToken"/>; nothing else.</summary>
    BearerToken,

    /// <summary>Anyone who can reach it, without credentials. An explicit choice: a warning is logged at start.</summary>
    Public,
}

/// <summary>The Prometheus endpoint: its access and how many series it may grow to.</summary>
public sealed class FennelDashboardMetricsOptions
{
    /// <summary>The shortest bearer token accepted.</summary>
    public const int MinTokenLength = 16;

    /// <summary>Who may read <c>{prefix}/metrics</c>. <value>Default: <see cref="FennelMetricsAccess.Dashboard"/>.</value></summary>
    public FennelMetricsAccess Access { get; set; } = FennelMetricsAccess.Dashboard;

    /// <summary>The token for <see cref="FennelMetricsAccess.BearerToken"/> (at least 16 characters). <value>Default: none.</value></summary>
    public string? BearerToken { get; set; }

    /// <summary>
    /// Task names given series of their own; events of further names are counted under the name <c>_other</c>, so a
    /// client inventing names cannot grow the endpoint without end. <value>Default: 1000.</value>
    /// </summary>
    public int MaxTaskNames { get; set; } = 1000;

    /// <summary>Checks the options; throws with what is wrong.</summary>
    /// <exception cref="FennelConfigurationException">An option is out of range, or the token is missing or short.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Access)) throw new FennelConfigurationException($"Dashboard Metrics.Access {Access} is not one of Dashboard, BearerToken, Public.");
        if (Access == FennelMetricsAccess.BearerToken && (BearerToken is null || BearerToken.Trim().Length < MinTokenLength))
        {
            throw new FennelConfigurationException($"Dashboard Metrics.Access is BearerToken but Metrics.BearerToken is {(string.IsNullOrWhiteSpace(BearerToken) ? "not set" : "too short")}; give a token of at least {MinTokenLength} characters.");
        }
        if (Access != FennelMetricsAccess.BearerToken && BearerToken is not null)
        {
            throw new FennelConfigurationException($"Dashboard Metrics.BearerToken is set but Metrics.Access is {Access}; set Access to BearerToken to use the token.");
        }
        if (MaxTaskNames < 1) throw new FennelConfigurationException($"Dashboard Metrics.MaxTaskNames must be at least 1 (was {MaxTaskNames}).");
    }
}
