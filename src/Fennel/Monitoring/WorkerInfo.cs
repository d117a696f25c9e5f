namespace Fennel.Monitoring;

/// <summary>
/// What a monitor knows of one worker, from its <c>worker-*</c> events and the task events it sent, merged by
/// <see cref="WorkerFold"/>. Immutable: each event gives a new one. <see cref="ClusterState"/> holds it in memory; the
/// dashboard's history stores the same fields in SQLite.
/// </summary>
public sealed record WorkerInfo
{
    /// <summary>Celery's default heartbeat interval when a worker has not said its own: 60 s.</summary>
    public const double DefaultFreq = 60;

    /// <summary>The node name (<c>worker@host</c>).</summary>
    public required string Hostname { get; init; }

    /// <summary>
    /// True when a heartbeat (any event from the worker; after <c>worker-offline</c>, only <c>worker-online</c> or
    /// <c>worker-heartbeat</c>) arrived within <see cref="Freq"/> × the expiry factor before the snapshot, and no
    /// <c>worker-offline</c> came after it. Computed when read (<see cref="WorkerFold.WithLiveness"/>).
    /// </summary>
    public bool IsOnline { get; init; }

    /// <summary>
    /// When the monitor last heard a sign of life from the worker (local time of receipt): a worker event other than
    /// <c>worker-offline</c>, or a task event it sent while not <see cref="SaidOffline"/>. Kept after <c>worker-offline</c>.
    /// </summary>
    public DateTimeOffset? LastHeard { get; init; }

    /// <summary><see cref="LastHeard"/> while the worker has not said <c>worker-offline</c>; null after it.</summary>
    public DateTimeOffset? LastHeartbeat => SaidOffline ? null : LastHeard;

    /// <summary>
    /// The worker's latest word on its liveness was <c>worker-offline</c>: only its next <c>worker-online</c> or
    /// <c>worker-heartbeat</c> brings it back (its task events do not: Celery says goodbye when its warm shutdown begins,
    /// then finishes the tasks it runs).
    /// </summary>
    public bool SaidOffline { get; init; }

    /// <summary>The sender timestamp of the worker's latest event.</summary>
    public DateTimeOffset? LastEventTime { get; init; }

    /// <summary>When it last came online (<c>worker-online</c>, or the first sign of life after being offline or unknown; local time).</summary>
    public DateTimeOffset? OnlineAt { get; init; }

    /// <summary>When a <c>worker-offline</c> was last received, if one was (local time).</summary>
    public DateTimeOffset? OfflineAt { get; init; }

    /// <summary>The heartbeat interval in seconds.</summary>
    public double Freq { get; init; } = DefaultFreq;

    /// <summary>The worker's process id.</summary>
    public int? Pid { get; init; }

    /// <summary>Tasks running at the latest worker event.</summary>
    public int? Active { get; init; }

    /// <summary>Tasks finished since the worker started, at the latest worker event.</summary>
    public long? Processed { get; init; }

    /// <summary>The host's 1, 5 and 15 minute load averages.</summary>
    public IReadOnlyList<double>? LoadAverage { get; init; }

    /// <summary>The worker software (<c>py-celery</c>, ...).</summary>
    public string? SoftwareIdentity { get; init; }

    /// <summary>Its version.</summary>
    public string? SoftwareVersion { get; init; }

    /// <summary>The operating system.</summary>
    public string? SoftwareSystem { get; init; }

    /// <summary>The worker's offset from UTC in hours.</summary>
    public int? UtcOffset { get; init; }
}
