namespace Fennel.Tasks;

/// <summary>Who shares a task's rate limit.</summary>
public enum RateLimitScope
{
    /// <summary>
    /// Each worker keeps its own limit, as Celery does: with N workers consuming the task, up to N times the rate runs
    /// across the cluster.
    /// </summary>
    Worker,

    /// <summary>
    /// All workers on the broker share one limit per task name, kept in the broker (Redis, SQLite). A worker whose
    /// broker cannot share one refuses to start, unless <see cref="Configuration.FennelOptions.ClusterRateLimitFallback"/>
    /// is set.
    /// </summary>
    Cluster,
}
