namespace Fennel.Dashboard.History;

/// <summary>One worker as the history holds it; <see cref="IsOnline"/> is judged when read.</summary>
public sealed record WorkerRecord
{
    /// <summary>The node name (<c>worker@host</c>).</summary>
    public required string Hostname { get; init; }

    /// <summary>True while its last heartbeat is younger than <see cref="Freq"/> times <see cref="TaskHistoryOptions.HeartbeatExpiryFactor"/> and it has not said goodbye since.</summary>
    public bool IsOnline { get; init; }

    /// <summary>When the store last heard from it (the store's clock).</summary>
    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>When it last came online (<c>worker-online</c>, or the first event after being offline; the store's clock).</summary>
    public DateTimeOffset? OnlineAt { get; init; }

    /// <summary>When it last went offline (<c>worker-offline</c>; the store's clock).</summary>
    public DateTimeOffset? OfflineAt { get; init; }

    /// <summary>Its heartbeat interval in seconds.</summary>
    public double? Freq { get; init; }

    /// <summary>Its process id.</summary>
    public int? Pid { get; init; }

    /// <summary>Tasks running at its last heartbeat.</summary>
    public int? Active { get; init; }

    /// <summary>Tasks it had finished at its last heartbeat.</summary>
    public long? Processed { get; init; }

    /// <summary>The host's 1, 5 and 15 minute load averages at its last heartbeat.</summary>
    public IReadOnlyList<double>? LoadAverage { get; init; }

    /// <summary>The worker software (<c>sw_ident</c>).</summary>
    public string? SoftwareIdentity { get; init; }

    /// <summary>Its version (<c>sw_ver</c>).</summary>
    public string? SoftwareVersion { get; init; }

    /// <summary>The operating system (<c>sw_sys</c>).</summary>
    public string? SoftwareSystem { get; init; }
}
