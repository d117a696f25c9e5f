namespace Fennel.Results;

/// <summary>
/// A task ended in FAILURE or REVOKED. Carries the remote exception as the worker stored it, whatever language
/// the worker was written in.
/// </summary>
public sealed class TaskFailedException : FennelException
{
    /// <summary>Creates the exception from a stored result.</summary>
    public TaskFailedException(TaskResult result)
        : base(Describe(result))
    {
        ArgumentNullException.ThrowIfNull(result);
        TaskId = result.TaskId;
        State = result.State;
        Remote = result.Exception ?? new RemoteException("UnknownError", result.Result?.ToJsonString() ?? "no exception stored", null, result.Traceback);
    }

    /// <summary>The task id.</summary>
    public string TaskId { get; }

    /// <summary>FAILURE or REVOKED.</summary>
    public TaskState State { get; }

    /// <summary>The exception as stored: type, message, module, traceback.</summary>
    public RemoteException Remote { get; }

    /// <summary>The remote exception type name, e.g. <c>ValueError</c> or <c>InvalidOperationException</c>.</summary>
    public string RemoteType => Remote.Type;

    /// <summary>The remote exception message.</summary>
    public string RemoteMessage => Remote.Message;

    /// <summary>The remote traceback or stack trace, when stored.</summary>
    public string? RemoteTraceback => Remote.Traceback;

    private static string Describe(TaskResult result)
    {
        var remote = result.Exception;
        return result.State == TaskState.Revoked
            ? $"Task {result.TaskId} was revoked{(remote is null ? "" : $" ({remote.Message})")}."
            : $"Task {result.TaskId} failed: {(remote is null ? "no exception was stored" : remote.ToString())}";
    }
}
