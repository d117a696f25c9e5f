namespace Fennel.Events;

/// <summary>
/// The fields of <c>worker-online</c>, <c>worker-heartbeat</c> and <c>worker-offline</c>: how often the worker beats,
/// what it is doing, and what it is.
/// </summary>
public abstract record WorkerEvent : CeleryEvent
{
    /// <summary>The heartbeat interval in seconds (<c>freq</c>; Celery's default 2.0).</summary>
    public double? Freq { get; init; }

    /// <summary>Tasks running now (<c>active</c>).</summary>
    public int? Active { get; init; }

    /// <summary>Tasks finished since the worker started (<c>processed</c>).</summary>
    public long? Processed { get; init; }

    /// <summary>The host's 1, 5 and 15 minute load averages (<c>loadavg</c>).</summary>
    public IReadOnlyList<double>? LoadAverage { get; init; }

    /// <summary>The worker software (<c>sw_ident</c>, e.g. <c>py-celery</c>).</summary>
    public string? SoftwareIdentity { get; init; }

    /// <summary>Its version (<c>sw_ver</c>).</summary>
    public string? SoftwareVersion { get; init; }

    /// <summary>The operating system (<c>sw_sys</c>, e.g. <c>Linux</c>).</summary>
    public string? SoftwareSystem { get; init; }
}

/// <summary><c>worker-online</c>: the worker started consuming.</summary>
public sealed record WorkerOnlineEvent : WorkerEvent
{
    /// <inheritdoc />
    public override string Type => "worker-online";
}

/// <summary><c>worker-heartbeat</c>: the worker is alive; sent every <see cref="WorkerEvent.Freq"/> seconds.</summary>
public sealed record WorkerHeartbeatEvent : WorkerEvent
{
    /// <inheritdoc />
    public override string Type => "worker-heartbeat";
}

/// <summary><c>worker-offline</c>: the worker is shutting down.</summary>
public sealed record WorkerOfflineEvent : WorkerEvent
{
    /// <inheritdoc />
    public override string Type => "worker-offline";
}
