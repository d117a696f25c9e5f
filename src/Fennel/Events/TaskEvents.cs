namespace Fennel.Events;

/// <summary>An event about one task: <c>task-sent</c>, <c>task-received</c>, ... <c>task-rejected</c>.</summary>
public abstract record TaskEvent : CeleryEvent
{
    /// <summary>The task id (<c>uuid</c>).</summary>
    public required string TaskId { get; init; }
}

/// <summary>
/// The description of a task that <c>task-sent</c> and <c>task-received</c> carry. <see cref="Args"/> and
/// <see cref="Kwargs"/> are Python reprs (<c>"(2, 3)"</c>, <c>"{}"</c>), not JSON.
/// </summary>
public abstract record TaskDescriptionEvent : TaskEvent
{
    /// <summary>The task name (<c>name</c>).</summary>
    public string? Name { get; init; }

    /// <summary>The positional arguments as a Python repr (<c>args</c>).</summary>
    public string? Args { get; init; }

    /// <summary>The keyword arguments as a Python repr (<c>kwargs</c>).</summary>
    public string? Kwargs { get; init; }

    /// <summary>The id of the workflow's first task (<c>root_id</c>).</summary>
    public string? RootId { get; init; }

    /// <summary>The id of the task that called this one (<c>parent_id</c>).</summary>
    public string? ParentId { get; init; }

    /// <summary>How many times it was retried (<c>retries</c>).</summary>
    public int? Retries { get; init; }

    /// <summary>When it may start, ISO 8601 (<c>eta</c>).</summary>
    public string? Eta { get; init; }

    /// <summary>When it expires, ISO 8601 (<c>expires</c>).</summary>
    public string? Expires { get; init; }
}

/// <summary><c>task-sent</c>: a client published the task (Celery's <c>task_send_sent_event</c>).</summary>
public sealed record TaskSentEvent : TaskDescriptionEvent
{
    /// <inheritdoc />
    public override string Type => "task-sent";

    /// <summary>The queue it was sent to (<c>queue</c>).</summary>
    public string? Queue { get; init; }

    /// <summary>The exchange it was published on (<c>exchange</c>; empty for the default exchange).</summary>
    public string? Exchange { get; init; }

    /// <summary>The routing key it was published with (<c>routing_key</c>).</summary>
    public string? RoutingKey { get; init; }
}

/// <summary><c>task-received</c>: a worker took the message.</summary>
public sealed record TaskReceivedEvent : TaskDescriptionEvent
{
    /// <inheritdoc />
    public override string Type => "task-received";
}

/// <summary><c>task-started</c>: a worker began running the task.</summary>
public sealed record TaskStartedEvent : TaskEvent
{
    /// <inheritdoc />
    public override string Type => "task-started";
}

/// <summary><c>task-succeeded</c>: the task returned.</summary>
public sealed record TaskSucceededEvent : TaskEvent
{
    /// <inheritdoc />
    public override string Type => "task-succeeded";

    /// <summary>The return value as a Python repr (<c>result</c>, e.g. <c>"5"</c>).</summary>
    public string? Result { get; init; }

    /// <summary>How long it ran, in seconds (<c>runtime</c>).</summary>
    public double? Runtime { get; init; }
}

/// <summary>The exception and traceback of <c>task-failed</c> and <c>task-retried</c>.</summary>
public abstract record TaskExceptionEvent : TaskEvent
{
    /// <summary>The exception as a Python repr (<c>exception</c>, e.g. <c>"ValueError('boom')"</c>).</summary>
    public string? Exception { get; init; }

    /// <summary>The formatted traceback (<c>traceback</c>).</summary>
    public string? Traceback { get; init; }
}

/// <summary><c>task-failed</c>: the task raised, or could not run.</summary>
public sealed record TaskFailedEvent : TaskExceptionEvent
{
    /// <inheritdoc />
    public override string Type => "task-failed";
}

/// <summary><c>task-retried</c>: the task will run again.</summary>
public sealed record TaskRetriedEvent : TaskExceptionEvent
{
    /// <inheritdoc />
    public override string Type => "task-retried";
}

/// <summary><c>task-revoked</c>: the task was revoked, terminated, or expired.</summary>
public sealed record TaskRevokedEvent : TaskEvent
{
    /// <inheritdoc />
    public override string Type => "task-revoked";

    /// <summary>True when a running task was killed (<c>terminated</c>).</summary>
    public bool? Terminated { get; init; }

    /// <summary>The signal that killed it (<c>signum</c>), when terminated.</summary>
    public int? Signum { get; init; }

    /// <summary>True when it was revoked because it expired (<c>expired</c>).</summary>
    public bool? Expired { get; init; }
}

/// <summary><c>task-rejected</c>: the worker rejected the message (e.g. <c>Reject</c> raised, or an unknown task).</summary>
public sealed record TaskRejectedEvent : TaskEvent
{
    /// <inheritdoc />
    public override string Type => "task-rejected";

    /// <summary>True when the message went back to the queue (<c>requeue</c>).</summary>
    public bool? Requeue { get; init; }
}
