using Fennel.Protocol;

namespace Fennel.Tasks;

/// <summary>
/// What a running task knows about itself. Add a <see cref="TaskContext"/> parameter to a handler to get it.
/// </summary>
public sealed class TaskContext
{
    internal TaskContext(TaskMessage message, string queue, string workerName, int deliveryCount, CancellationToken cancellationToken,
        CancellationToken softTimeLimit = default)
    {
        _softTimeLimit = softTimeLimit;
        Message = message;
        Queue = queue;
        WorkerName = workerName;
        DeliveryCount = deliveryCount;
        CancellationToken = cancellationToken;
    }

    private static readonly AsyncLocal<TaskContext?> Ambient = new();
    private readonly CancellationToken _softTimeLimit;

    /// <summary>
    /// The task running on this async flow, or null outside a task. Tasks sent from inside a task get it as parent
    /// (<c>parent_id</c>, <c>root_id</c>).
    /// </summary>
    public static TaskContext? Current
    {
        get => Ambient.Value;
        internal set => Ambient.Value = value;
    }

    /// <summary>The task id.</summary>
    public string Id => Message.Id;

    /// <summary>The task name.</summary>
    public string Name => Message.Task;

    /// <summary>How many times this task was retried before this run.</summary>
    public int Retries => Message.Retries;

    /// <summary>The queue the message came from.</summary>
    public string Queue { get; }

    /// <summary>The node name of the worker running it, e.g. <c>celery@customers.host</c>.</summary>
    public string WorkerName { get; }

    /// <summary>1 on first delivery; higher when an earlier worker was lost while holding it.</summary>
    public int DeliveryCount { get; }

    /// <summary>Fires at the soft time limit and on cold shutdown or terminate.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// True once the soft time limit has passed (Celery's <c>SoftTimeLimitExceeded</c>): the token fired for that reason, so
    /// a handler can tidy up and return, or let the cancellation end the task as FAILURE <c>SoftTimeLimitExceeded</c>.
    /// </summary>
    public bool SoftTimeLimitExceeded => _softTimeLimit.IsCancellationRequested;

    /// <summary>The whole message, headers included.</summary>
    public TaskMessage Message { get; }

    /// <summary>
    /// Asks for a retry; use as <c>throw context.Retry(ex)</c>. Past the retry limit the task fails with the
    /// <paramref name="reason"/> (or <see cref="MaxRetriesExceededException"/> when there is none).
    /// </summary>
    /// <param name="reason">Why; stored with the RETRY state.</param>
    /// <param name="countdown">The delay; the task's exponential backoff when null.</param>
    /// <param name="maxRetries">Overrides the task's retry limit.</param>
    public RetryException Retry(Exception? reason = null, TimeSpan? countdown = null, int? maxRetries = null) =>
        new(reason, countdown, maxRetries);
}
