using Fennel.Events;

namespace Fennel.Monitoring;

/// <summary>
/// How an event changes what a monitor knows of a worker: the one place for Celery's rules, used by
/// <see cref="ClusterState"/> and by the dashboard's history. Pure: the current state and an event in, the new state out.
/// Liveness is driven by receipt times (<c>now</c>), not sender timestamps, so clock skew between hosts does not matter.
/// </summary>
internal static class WorkerFold
{
    /// <summary>Applies a <c>worker-online</c>, <c>-heartbeat</c> or <c>-offline</c>.</summary>
    /// <param name="worker">What is known of the worker; null when nothing is.</param>
    /// <param name="e">The event.</param>
    /// <param name="now">When it was received.</param>
    public static WorkerInfo Apply(WorkerInfo? worker, WorkerEvent e, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        worker ??= new WorkerInfo { Hostname = e.Hostname };
        worker = worker with
        {
            Pid = e.Pid ?? worker.Pid,
            UtcOffset = e.UtcOffset ?? worker.UtcOffset,
            Freq = e.Freq is { } freq && freq > 0 ? freq : worker.Freq,
            Active = e.Active ?? worker.Active,
            Processed = e.Processed ?? worker.Processed,
            LoadAverage = e.LoadAverage ?? worker.LoadAverage,
            SoftwareIdentity = e.SoftwareIdentity ?? worker.SoftwareIdentity,
            SoftwareVersion = e.SoftwareVersion ?? worker.SoftwareVersion,
            SoftwareSystem = e.SoftwareSystem ?? worker.SoftwareSystem,
            LastEventTime = Later(worker.LastEventTime, TaskFold.SenderTime(e, now)),
        };
        if (e is WorkerOfflineEvent) return worker with { SaidOffline = true, OfflineAt = now };
        worker = Beat(worker, now);
        return e is WorkerOnlineEvent ? worker with { OnlineAt = now } : worker;
    }

    /// <summary>
    /// Applies a task event the worker sent (see <see cref="SentByWorker"/>): a heartbeat too, as Celery counts it, except
    /// after <c>worker-offline</c>, when it only moves <see cref="WorkerInfo.LastEventTime"/>.
    /// </summary>
    /// <param name="worker">What is known of the worker (the event's hostname); null when nothing is.</param>
    /// <param name="e">The task event.</param>
    /// <param name="now">When it was received.</param>
    public static WorkerInfo ApplyTaskEvent(WorkerInfo? worker, CeleryEvent e, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        worker ??= new WorkerInfo { Hostname = e.Hostname };
        var alive = !worker.SaidOffline;
        // One copy (this runs for most events): Beat's rule, inlined.
        return worker with
        {
            LastEventTime = Later(worker.LastEventTime, TaskFold.SenderTime(e, now)),
            LastHeard = alive ? Later(worker.LastHeard, now) : worker.LastHeard,
            OnlineAt = alive ? worker.OnlineAt ?? now : worker.OnlineAt,
        };
    }

    /// <summary>True when a task event comes from a worker (every one but a client's <c>task-sent</c>).</summary>
    public static bool SentByWorker(CeleryEvent e) => e is not TaskSentEvent;

    /// <summary>
    /// The worker with <see cref="WorkerInfo.IsOnline"/> judged at <paramref name="now"/>: heard from within
    /// <see cref="WorkerInfo.Freq"/> × <paramref name="expiryFactor"/>, and not said offline since.
    /// </summary>
    public static WorkerInfo WithLiveness(WorkerInfo worker, DateTimeOffset now, double expiryFactor)
    {
        ArgumentNullException.ThrowIfNull(worker);
        var online = !worker.SaidOffline && worker.LastHeard is { } last && now < last + TimeSpan.FromSeconds(worker.Freq * expiryFactor);
        return online == worker.IsOnline ? worker : worker with { IsOnline = online };
    }

    /// <summary>A sign of life: heard from now, and online from now when it was offline or never online.</summary>
    private static WorkerInfo Beat(WorkerInfo worker, DateTimeOffset now) => worker with
    {
        LastHeard = Later(worker.LastHeard, now),
        OnlineAt = worker.OnlineAt is not null && !worker.SaidOffline ? worker.OnlineAt : now,
        SaidOffline = false,
    };

    private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x > b ? x : b;
}
