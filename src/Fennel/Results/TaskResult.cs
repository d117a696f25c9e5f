using System.Text.Json.Nodes;

namespace Fennel.Results;

/// <summary>
/// What the result store holds for a task, in the shape Celery stores it as <c>celery-task-meta-&lt;id&gt;</c>:
/// <c>{"status", "result", "traceback", "children", "date_done", "task_id"}</c>.
/// </summary>
public sealed record TaskResult
{
    /// <summary>The task id.</summary>
    public required string TaskId { get; init; }

    /// <summary>The state.</summary>
    public required TaskState State { get; init; }

    /// <summary>
    /// The return value (SUCCESS), or for FAILURE / RETRY / REVOKED the exception object
    /// <c>{"exc_type", "exc_message": [...], "exc_module"}</c>.
    /// </summary>
    public JsonNode? Result { get; init; }

    /// <summary>The traceback or .NET stack trace of a failure.</summary>
    public string? Traceback { get; init; }

    /// <summary>When the task reached this state; null for RETRY, as Celery writes it.</summary>
    public DateTimeOffset? DateDone { get; init; }

    /// <summary>Results of tasks this one sent (retry, callbacks, chain steps), as Celery serializes them.</summary>
    public JsonArray Children { get; init; } = [];

    /// <summary>The parent task id, when the task had one.</summary>
    public string? ParentId { get; init; }

    /// <summary>The group id, for group and chord members.</summary>
    public string? GroupId { get; init; }

    /// <summary>The worker that produced this result (Fennel's addition; Celery ignores unknown keys).</summary>
    public string? Worker { get; init; }

    /// <summary>
    /// The caller's reply queue (the task message's <c>reply_to</c>). Only result stores that send results to the caller
    /// (<c>rpc://</c>) use it; it is not stored.
    /// </summary>
    public string? ReplyTo { get; init; }

    /// <summary>The exception when <see cref="State"/> is FAILURE, RETRY or REVOKED and <see cref="Result"/> holds one.</summary>
    public RemoteException? Exception => State is TaskState.Failure or TaskState.Retry or TaskState.Revoked
        ? RemoteException.FromResult(Result, Traceback)
        : null;
}
