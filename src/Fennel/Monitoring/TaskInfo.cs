using System.Collections.Immutable;

namespace Fennel.Monitoring;

/// <summary>One event in a task's life, as the monitor saw it.</summary>
/// <param name="Type">The event type, e.g. <c>task-started</c>.</param>
/// <param name="Time">When the sender made it (its <c>timestamp</c>).</param>
/// <param name="ReceivedAt">When the monitor applied it.</param>
/// <param name="Hostname">Who sent it.</param>
/// <param name="Clock">The sender's Lamport clock, when sent.</param>
public sealed record TaskTimelineEntry(string Type, DateTimeOffset Time, DateTimeOffset ReceivedAt, string Hostname, long? Clock);

/// <summary>
/// What a monitor knows of one task, merged from its events by <see cref="TaskFold"/>. Immutable: each event gives a new
/// one. <see cref="ClusterState"/> holds it in memory (with its <see cref="Timeline"/>); the dashboard's history stores
/// the same fields in SQLite (its timeline in a table of its own).
/// </summary>
public sealed record TaskInfo
{
    /// <summary>The task id.</summary>
    public required string Id { get; init; }

    /// <summary>Celery's state name (<c>PENDING</c> until an event says more), after the precedence rule: a late event never moves it back.</summary>
    public string State { get; init; } = "PENDING";

    /// <summary>When the sender made the event that set <see cref="State"/>.</summary>
    public DateTimeOffset? StateTime { get; init; }

    /// <summary>The task name.</summary>
    public string? Name { get; init; }

    /// <summary>The positional arguments as a Python repr.</summary>
    public string? Args { get; init; }

    /// <summary>The keyword arguments as a Python repr.</summary>
    public string? Kwargs { get; init; }

    /// <summary>The return value as a Python repr.</summary>
    public string? Result { get; init; }

    /// <summary>The exception as a Python repr, after a failure or retry.</summary>
    public string? Exception { get; init; }

    /// <summary>The traceback, after a failure or retry.</summary>
    public string? Traceback { get; init; }

    /// <summary>How long it ran, in seconds.</summary>
    public double? Runtime { get; init; }

    /// <summary>How many times it was retried.</summary>
    public int? Retries { get; init; }

    /// <summary>When it may start (ISO 8601, as sent).</summary>
    public string? Eta { get; init; }

    /// <summary>When it expires (ISO 8601, as sent).</summary>
    public string? Expires { get; init; }

    /// <summary>The id of the workflow's first task.</summary>
    public string? RootId { get; init; }

    /// <summary>The id of the task that called it.</summary>
    public string? ParentId { get; init; }

    /// <summary>The queue it was sent to (from <c>task-sent</c>).</summary>
    public string? Queue { get; init; }

    /// <summary>The routing key it was sent with (from <c>task-sent</c>).</summary>
    public string? RoutingKey { get; init; }

    /// <summary>The worker that handled it (hostname of its worker events).</summary>
    public string? Worker { get; init; }

    /// <summary>The client that sent it (hostname of <c>task-sent</c>).</summary>
    public string? Client { get; init; }

    /// <summary>True when a revoke killed it while running.</summary>
    public bool? Terminated { get; init; }

    /// <summary>True when it was revoked because it expired.</summary>
    public bool? Expired { get; init; }

    /// <summary>When the earliest of its events was made (sender time).</summary>
    public DateTimeOffset? SeenAt { get; init; }

    /// <summary>When it was sent (<c>task-sent</c>, sender time).</summary>
    public DateTimeOffset? SentAt { get; init; }

    /// <summary>When a worker received it (<c>task-received</c>, sender time; a retried task is received again).</summary>
    public DateTimeOffset? ReceivedAt { get; init; }

    /// <summary>When it started (<c>task-started</c>, sender time).</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it succeeded, failed, was revoked or rejected (sender time).</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>How many of its events were applied.</summary>
    public long EventCount { get; init; }

    /// <summary>Its events in the order they were made (by sender timestamp), at most <see cref="ClusterStateOptions.MaxTimelineEntries"/>.</summary>
    public ImmutableList<TaskTimelineEntry> Timeline { get; init; } = [];

    /// <summary>When the monitor last applied an event of this task (its own clock).</summary>
    public DateTimeOffset LastUpdated { get; init; }

    /// <summary>True when the state is final: SUCCESS, FAILURE, REVOKED or REJECTED.</summary>
    public bool IsFinished => CeleryStatePrecedence.IsFinished(State);
}
