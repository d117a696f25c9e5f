using Fennel.Monitoring;

namespace Fennel.Dashboard.History;

/// <summary>
/// One task as the history holds it: its state by Celery's precedence and what its events said. Args, kwargs, result
/// and exception are Python reprs as sent. Times are the senders' (event timestamps).
/// </summary>
public sealed record TaskRecord
{
    /// <summary>The task id.</summary>
    public required string Id { get; init; }

    /// <summary>The task name, once an event named it.</summary>
    public string? Name { get; init; }

    /// <summary>The state (<c>PENDING</c>, <c>RECEIVED</c>, <c>STARTED</c>, <c>SUCCESS</c>, ...; a custom event <c>task-x</c> gives <c>X</c>).</summary>
    public required string State { get; init; }

    /// <summary>When the event that set <see cref="State"/> was made.</summary>
    public DateTimeOffset? StateTime { get; init; }

    /// <summary>The worker that received or ran it.</summary>
    public string? Worker { get; init; }

    /// <summary>The client that sent it (<c>task-sent</c>'s hostname).</summary>
    public string? Client { get; init; }

    /// <summary>The queue it was sent to.</summary>
    public string? Queue { get; init; }

    /// <summary>The routing key it was sent with.</summary>
    public string? RoutingKey { get; init; }

    /// <summary>The positional arguments.</summary>
    public string? Args { get; init; }

    /// <summary>The keyword arguments.</summary>
    public string? Kwargs { get; init; }

    /// <summary>The return value, when it succeeded.</summary>
    public string? Result { get; init; }

    /// <summary>The exception, when it failed or was retried.</summary>
    public string? Exception { get; init; }

    /// <summary>The traceback, when it failed or was retried.</summary>
    public string? Traceback { get; init; }

    /// <summary>How many times it was retried.</summary>
    public int? Retries { get; init; }

    /// <summary>The id of the task that called it.</summary>
    public string? ParentId { get; init; }

    /// <summary>The id of its workflow's first task.</summary>
    public string? RootId { get; init; }

    /// <summary>When it may start (ISO 8601 as sent).</summary>
    public string? Eta { get; init; }

    /// <summary>When it expires (ISO 8601 as sent).</summary>
    public string? Expires { get; init; }

    /// <summary>When the earliest of its events was made: the time range filters and the default sort use this.</summary>
    public DateTimeOffset? SeenAt { get; init; }

    /// <summary>When it was sent.</summary>
    public DateTimeOffset? SentAt { get; init; }

    /// <summary>When a worker received it.</summary>
    public DateTimeOffset? ReceivedAt { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it succeeded, failed, was revoked or rejected.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>How long it ran, in seconds.</summary>
    public double? Runtime { get; init; }

    /// <summary>True when a running task was killed.</summary>
    public bool? Terminated { get; init; }

    /// <summary>True when it was revoked because it expired.</summary>
    public bool? Expired { get; init; }

    /// <summary>When the history last changed it (the store's clock).</summary>
    public DateTimeOffset LastUpdated { get; init; }

    /// <summary>True when the task does nothing more (<see cref="CeleryStatePrecedence.IsFinished"/>).</summary>
    public bool IsFinished => CeleryStatePrecedence.IsFinished(State);
}

/// <summary>One task with its timeline (in sender-time order) and the tasks it called.</summary>
/// <param name="Task">The task.</param>
/// <param name="Timeline">Its events, oldest first; at most <see cref="TaskHistoryOptions.MaxTimelineEntries"/>.</param>
/// <param name="Children">The tasks whose parent it is, oldest first.</param>
public sealed record TaskDetail(TaskRecord Task, IReadOnlyList<TaskTimelineEntry> Timeline, IReadOnlyList<TaskRecord> Children);
