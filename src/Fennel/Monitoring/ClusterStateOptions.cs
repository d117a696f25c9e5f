namespace Fennel.Monitoring;

/// <summary>The bounds and liveness rule of a <see cref="ClusterState"/>.</summary>
public sealed class ClusterStateOptions
{
    /// <summary>
    /// The most tasks kept; past it the task that finished longest ago goes first, then the oldest unfinished one.
    /// <value>10 000 (Celery's <c>max_tasks_in_memory</c>).</value>
    /// </summary>
    public int MaxTasks { get; set; } = 10_000;

    /// <summary>
    /// The most workers kept; past it a worker that sent <c>worker-offline</c> goes first, then the one heard from longest ago.
    /// <value>5 000 (Celery's <c>max_workers_in_memory</c>).</value>
    /// </summary>
    public int MaxWorkers { get; set; } = 5_000;

    /// <summary>
    /// The most events kept in one task's timeline; past it the earliest are dropped (a task retried forever stays bounded).
    /// <value>100.</value>
    /// </summary>
    public int MaxTimelineEntries { get; set; } = 100;

    /// <summary>
    /// A worker is offline when nothing was heard from it for its heartbeat interval (<c>freq</c>) times this factor.
    /// <value>2.0 (Celery's <c>HEARTBEAT_EXPIRE_WINDOW</c> of 200 %).</value>
    /// </summary>
    public double HeartbeatExpiryFactor { get; set; } = 2.0;

    /// <summary>Throws <see cref="FennelConfigurationException"/> naming the first option that cannot work.</summary>
    public void Validate()
    {
        if (MaxTasks < 1) throw new FennelConfigurationException($"ClusterStateOptions.MaxTasks must be at least 1, not {MaxTasks}.");
        if (MaxWorkers < 1) throw new FennelConfigurationException($"ClusterStateOptions.MaxWorkers must be at least 1, not {MaxWorkers}.");
        if (MaxTimelineEntries < 1)
            throw new FennelConfigurationException($"ClusterStateOptions.MaxTimelineEntries must be at least 1, not {MaxTimelineEntries}.");
        if (!(HeartbeatExpiryFactor > 0) || double.IsInfinity(HeartbeatExpiryFactor))
            throw new FennelConfigurationException($"ClusterStateOptions.HeartbeatExpiryFactor must be a positive number, not {HeartbeatExpiryFactor}.");
    }
}
