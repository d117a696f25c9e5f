namespace Fennel.Dashboard.History;

/// <summary>Where <see cref="TaskHistoryStore"/> keeps its SQLite file and how much it keeps.</summary>
public sealed class TaskHistoryOptions
{
    /// <summary>The SQLite file; its folder is created when missing.</summary>
    /// <value>Default: <c>fennel-dashboard.db</c> in the current directory.</value>
    public string Path { get; set; } = "fennel-dashboard.db";

    /// <summary>Tasks not updated for longer than this are deleted, with their timelines; so are throughput buckets and offline workers older than this.</summary>
    /// <value>Default: 7 days.</value>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>At most this many tasks are kept; the least recently updated go first.</summary>
    /// <value>Default: 100 000.</value>
    public int MaxTasks { get; set; } = 100_000;

    /// <summary>At most this many timeline events are kept per task (a task retried forever would otherwise grow without end); later events still update the task.</summary>
    /// <value>Default: 64.</value>
    public int MaxTimelineEntries { get; set; } = 64;

    /// <summary>How often the writer trims by <see cref="MaxAge"/> and <see cref="MaxTasks"/>.</summary>
    /// <value>Default: 1 minute.</value>
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>At most this many events are written in one transaction; more waiting events make the next one.</summary>
    /// <value>Default: 10 000.</value>
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>At most this many events wait for the writer; <see cref="TaskHistoryStore.AppendAsync"/> waits while it is full.</summary>
    /// <value>Default: 100 000.</value>
    public int MaxPendingEvents { get; set; } = 100_000;

    /// <summary>A worker is online while its last heartbeat is younger than its <c>freq</c> times this factor (Celery's rule).</summary>
    /// <value>Default: 2.</value>
    public double HeartbeatExpiryFactor { get; set; } = 2;

    /// <summary>Throws when an option cannot work.</summary>
    /// <exception cref="FennelConfigurationException">An option is out of range, with which and why.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path)) throw new FennelConfigurationException("TaskHistoryOptions.Path is empty; give the SQLite file for the dashboard's history.");
        if (MaxAge <= TimeSpan.Zero) throw new FennelConfigurationException($"TaskHistoryOptions.MaxAge is {MaxAge}; it must be positive.");
        if (MaxTasks < 1) throw new FennelConfigurationException($"TaskHistoryOptions.MaxTasks is {MaxTasks}; it must be at least 1.");
        if (MaxTimelineEntries < 1) throw new FennelConfigurationException($"TaskHistoryOptions.MaxTimelineEntries is {MaxTimelineEntries}; it must be at least 1.");
        if (TrimInterval <= TimeSpan.Zero) throw new FennelConfigurationException($"TaskHistoryOptions.TrimInterval is {TrimInterval}; it must be positive.");
        if (MaxBatchSize < 1) throw new FennelConfigurationException($"TaskHistoryOptions.MaxBatchSize is {MaxBatchSize}; it must be at least 1.");
        if (MaxPendingEvents < 1) throw new FennelConfigurationException($"TaskHistoryOptions.MaxPendingEvents is {MaxPendingEvents}; it must be at least 1.");
        if (!(HeartbeatExpiryFactor > 0)) throw new FennelConfigurationException($"TaskHistoryOptions.HeartbeatExpiryFactor is {HeartbeatExpiryFactor}; it must be positive.");
    }

    internal TaskHistoryOptions Clone() => (TaskHistoryOptions)MemberwiseClone();
}
