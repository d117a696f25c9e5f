namespace Fennel.Dashboard.Hosting;

/// <summary>The dashboard's authorization policies and its authentication scheme.</summary>
internal static class DashboardPolicies
{
    /// <summary>The dashboard's own scheme (basic authentication against its users).</summary>
    public const string Scheme = "FennelDashboard";

    /// <summary>Seeing anything: a signed-in dashboard user.</summary>
    public const string View = "FennelDashboard.View";

    /// <summary>Acting on workers and tasks: a dashboard user who is not read-only.</summary>
    public const string Control = "FennelDashboard.Control";
}
