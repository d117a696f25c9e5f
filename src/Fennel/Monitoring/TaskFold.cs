using System.Text.Json;
using Fennel.Events;

namespace Fennel.Monitoring;

/// <summary>
/// How an event changes what a monitor knows of a task: the one place for Celery's merge rules, used by
/// <see cref="ClusterState"/> and by the dashboard's history. Pure: the current state and an event in, the new state out.
/// </summary>
/// <remarks>
/// The state follows <see cref="CeleryStatePrecedence"/>: an event whose state ranks below the current one "happened
/// before" and does not change it. A late <c>task-received</c> fills in only the description (name, args, kwargs, ids,
/// retries, eta, expires); other late events add their fields. Unlike Celery, a null field never clears a known value.
/// Times: an event in order sets its time (a retried task is received and started again); a late one only fills a gap.
/// </remarks>
internal static class TaskFold
{
    /// <summary>The id of the task an event is about: a task event's <c>uuid</c>, or a custom <c>task-x</c>'s when it is a string; null otherwise.</summary>
    public static string? TaskIdOf(CeleryEvent e) => e switch
    {
        TaskEvent task => task.TaskId,
        UnknownEvent { EventType: var type } when type.StartsWith("task-", StringComparison.Ordinal)
            && e.Extra["uuid"] is { } uuid && uuid.GetValueKind() == JsonValueKind.String => uuid.GetValue<string>(),
        _ => null,
    };

    /// <summary>Applies one event of task <paramref name="id"/> (its <see cref="TaskIdOf"/>).</summary>
    /// <param name="task">What is known of the task; null when nothing is.</param>
    /// <param name="id">The task's id.</param>
    /// <param name="e">The event.</param>
    /// <param name="now">When it was received (<see cref="TaskInfo.LastUpdated"/>).</param>
    /// <returns>The new state; its <see cref="TaskInfo.Timeline"/> is the old one (the holder adds <see cref="TimelineEntry"/> as it keeps timelines).</returns>
    public static TaskInfo Apply(TaskInfo? task, string id, CeleryEvent e, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        task ??= new TaskInfo { Id = id, LastUpdated = now };
        var state = CeleryStatePrecedence.StateOf(e.Type);
        var late = CeleryStatePrecedence.HappenedBefore(state, task.State);
        var time = SenderTime(e, now);
        var fromWorker = WorkerFold.SentByWorker(e);
        // One copy per event (this runs for every event the dashboard takes in): each field from the event when it has one.
        var d = e as TaskDescriptionEvent;
        var sent = e as TaskSentEvent;
        var succeeded = e as TaskSucceededEvent;
        var failure = e as TaskExceptionEvent; // task-failed, task-retried
        var revoked = e as TaskRevokedEvent;
        return task with
        {
            State = late ? task.State : state,
            StateTime = late ? task.StateTime : time,
            SeenAt = task.SeenAt is { } seen && seen <= time ? seen : time,
            Worker = fromWorker ? e.Hostname : task.Worker,
            Client = fromWorker ? task.Client : e.Hostname,
            Name = d?.Name ?? task.Name,
            Args = d?.Args ?? task.Args,
            Kwargs = d?.Kwargs ?? task.Kwargs,
            RootId = d?.RootId ?? task.RootId,
            ParentId = d?.ParentId ?? task.ParentId,
            Retries = d?.Retries ?? task.Retries,
            Eta = d?.Eta ?? task.Eta,
            Expires = d?.Expires ?? task.Expires,
            Queue = sent?.Queue ?? task.Queue,
            RoutingKey = sent?.RoutingKey ?? task.RoutingKey,
            SentAt = sent is null ? task.SentAt : Stamp(task.SentAt),
            ReceivedAt = e is TaskReceivedEvent ? Stamp(task.ReceivedAt) : task.ReceivedAt,
            StartedAt = e is TaskStartedEvent ? Stamp(task.StartedAt) : task.StartedAt,
            FinishedAt = e is TaskSucceededEvent or TaskFailedEvent or TaskRevokedEvent or TaskRejectedEvent ? Stamp(task.FinishedAt) : task.FinishedAt,
            Result = succeeded?.Result ?? task.Result,
            Runtime = succeeded?.Runtime ?? task.Runtime,
            Exception = failure?.Exception ?? task.Exception,
            Traceback = failure?.Traceback ?? task.Traceback,
            Terminated = revoked?.Terminated ?? task.Terminated,
            Expired = revoked?.Expired ?? task.Expired,
            EventCount = task.EventCount + 1,
            LastUpdated = now,
        };

        DateTimeOffset? Stamp(DateTimeOffset? current) => late ? current ?? time : time;
    }

    /// <summary>The event as a task's timeline keeps it.</summary>
    public static TaskTimelineEntry TimelineEntry(CeleryEvent e, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new TaskTimelineEntry(e.Type, SenderTime(e, now), now, e.Hostname, e.Clock);
    }

    /// <summary>The event's timestamp, or the receipt time when the timestamp is not a time (NaN, or beyond the years 1970 to 9999).</summary>
    public static DateTimeOffset SenderTime(CeleryEvent e, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        return double.IsFinite(e.Timestamp) && e.Timestamp is >= 0 and < 253_402_300_799 ? e.Time : now;
    }
}
