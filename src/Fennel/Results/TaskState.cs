namespace Fennel.Results;

/// <summary>The states of a task, with Celery's names on the wire.</summary>
public enum TaskState
{
    /// <summary>Unknown to the result store: not yet run, or its result expired. Wire name <c>PENDING</c>.</summary>
    Pending,

    /// <summary>A worker received it. Wire name <c>RECEIVED</c>.</summary>
    Received,

    /// <summary>A worker started it (stored when track-started is on). Wire name <c>STARTED</c>.</summary>
    Started,

    /// <summary>It returned a value. Wire name <c>SUCCESS</c>.</summary>
    Success,

    /// <summary>It threw, or could not run. Wire name <c>FAILURE</c>.</summary>
    Failure,

    /// <summary>It will run again. Wire name <c>RETRY</c>.</summary>
    Retry,

    /// <summary>It was revoked or expired before it ran. Wire name <c>REVOKED</c>.</summary>
    Revoked,
}

/// <summary>Conversions between <see cref="TaskState"/> and Celery's state names.</summary>
public static class TaskStates
{
    /// <summary>Celery's name of the state, e.g. <c>SUCCESS</c>.</summary>
    public static string ToWire(this TaskState state) => state switch
    {
        TaskState.Pending => "PENDING",
        TaskState.Received => "RECEIVED",
        TaskState.Started => "STARTED",
        TaskState.Success => "SUCCESS",
        TaskState.Failure => "FAILURE",
        TaskState.Retry => "RETRY",
        TaskState.Revoked => "REVOKED",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>Parses Celery's state name; unknown names (custom states) give false.</summary>
    public static bool TryParse(string? wire, out TaskState state)
    {
        switch (wire)
        {
            case "PENDING": state = TaskState.Pending; return true;
            case "RECEIVED": state = TaskState.Received; return true;
            case "STARTED": state = TaskState.Started; return true;
            case "SUCCESS": state = TaskState.Success; return true;
            case "FAILURE": state = TaskState.Failure; return true;
            case "RETRY": state = TaskState.Retry; return true;
            case "REVOKED": state = TaskState.Revoked; return true;
            default: state = TaskState.Pending; return false;
        }
    }

    /// <summary>True for the states after which nothing changes: SUCCESS, FAILURE, REVOKED.</summary>
    public static bool IsReady(this TaskState state) => state is TaskState.Success or TaskState.Failure or TaskState.Revoked;
}
