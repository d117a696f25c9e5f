namespace Fennel.Monitoring;

/// <summary>
/// Celery's order of task states (<c>celery.states.PRECEDENCE</c>), used to tell an event that arrived late from
/// one that moves the task on: SUCCESS, FAILURE, (custom states), REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING.
/// A lower index wins.
/// </summary>
internal static class CeleryStatePrecedence
{
    private static readonly string?[] Order = ["SUCCESS", "FAILURE", null, "REVOKED", "STARTED", "RECEIVED", "REJECTED", "RETRY", "PENDING"];

    /// <summary>The index of the state in Celery's order; unknown (custom) states rank where <c>null</c> does.</summary>
    public static int Of(string state)
    {
        var i = Array.IndexOf(Order, state);
        return i >= 0 ? i : 2;
    }

    /// <summary>The state a task event type leads to: <c>task-succeeded</c> → <c>SUCCESS</c>; a custom <c>task-x</c> → <c>X</c>.</summary>
    public static string StateOf(string eventType)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        return eventType switch
        {
            "task-sent" => "PENDING",
            "task-received" => "RECEIVED",
            "task-started" => "STARTED",
            "task-succeeded" => "SUCCESS",
            "task-failed" => "FAILURE",
            "task-retried" => "RETRY",
            "task-revoked" => "REVOKED",
            "task-rejected" => "REJECTED",
            _ => (eventType.StartsWith("task-", StringComparison.Ordinal) ? eventType[5..] : eventType).ToUpperInvariant(),
        };
    }

    /// <summary>
    /// True when an event leading to <paramref name="incoming"/> logically happened before the task reached
    /// <paramref name="current"/>, so it must not move the task back. RETRY is never "before": a retried task starts over.
    /// </summary>
    public static bool HappenedBefore(string incoming, string current) =>
        incoming != "RETRY" && current != "RETRY" && Of(incoming) > Of(current);

    /// <summary>True for the states after which a task does nothing more: SUCCESS, FAILURE, REVOKED, REJECTED.</summary>
    public static bool IsFinished(string state) => state is "SUCCESS" or "FAILURE" or "REVOKED" or "REJECTED";
}
