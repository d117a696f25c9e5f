using System.Text.Json.Nodes;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.Worker;

/// <summary>
/// The task events a worker sends (<c>task-received</c> … <c>task-succeeded</c>) when switched on by <c>-E</c>
/// (<see cref="WorkerOptions.TaskEvents"/>) or the <c>enable_events</c> control command. The stages call one method
/// where an outcome happens; each returns at once when task events are off: a bool check, no allocation.
/// </summary>
internal sealed class TaskEvents(string node, TimeProvider time, bool enabled)
{
    private volatile bool _enabled = enabled;

    /// <summary>Whether task events are switched on.</summary>
    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>Where they go while the worker runs; null before, or on a broker that cannot broadcast.</summary>
    public EventDispatcher? Dispatcher { get; set; }

    private bool Sending => _enabled && Dispatcher is not null;

    /// <summary><c>task-received</c>: the task description, arguments as Python reprs with sensitive values shown as <c>'***'</c>.</summary>
    public void Received(TaskMessage message, TaskDefinition task)
    {
        if (!Sending) return;
        // The task's own redaction wins over the sender's argsrepr: a Python client does not know what is sensitive here.
        var (args, kwargs) = task.Redaction?.Repr(message.Args, message.Kwargs)
            ?? (message.ArgsRepr ?? PythonRepr.Args(message.Args), message.KwargsRepr ?? PythonRepr.Kwargs(message.Kwargs));
        Dispatcher!.Send(new TaskReceivedEvent
        {
            Hostname = node, Timestamp = 0, TaskId = message.Id,
            Name = message.Task, Args = args, Kwargs = kwargs, RootId = message.RootId, ParentId = message.ParentId,
            Retries = message.Retries,
            Eta = message.Eta is { } eta ? CeleryTime.Format(eta) : null,
            Expires = message.Expires is { } expires ? CeleryTime.Format(expires) : null,
        });
    }

    /// <summary><c>task-started</c>, unless it expired (then only <c>task-revoked</c> follows, as in Celery).</summary>
    public void Started(TaskMessage message)
    {
        if (!Sending || message.Expires <= time.GetUtcNow()) return;
        Dispatcher!.Send(new TaskStartedEvent { Hostname = node, Timestamp = 0, TaskId = message.Id });
    }

    public void Succeeded(TaskMessage message, JsonNode? value, double runtime)
    {
        if (!Sending) return;
        Dispatcher!.Send(new TaskSucceededEvent
        {
            Hostname = node, Timestamp = 0, TaskId = message.Id, Result = value is null ? "None" : PythonRepr.Of(value), Runtime = runtime,
        });
    }

    public void Failed(TaskMessage message, RemoteException error)
    {
        if (!Sending) return;
        Dispatcher!.Send(new TaskFailedEvent
        {
            Hostname = node, Timestamp = 0, TaskId = message.Id, Exception = Worker.ExceptionRepr(error), Traceback = error.Traceback,
        });
    }

    public void Retried(TaskMessage message, RemoteException reason)
    {
        if (!Sending) return;
        Dispatcher!.Send(new TaskRetriedEvent
        {
            Hostname = node, Timestamp = 0, TaskId = message.Id, Exception = Worker.ExceptionRepr(reason), Traceback = reason.Traceback,
        });
    }

    /// <summary><c>task-revoked</c>: discarded unrun, expired, or terminated (SIGTERM, 15, as Celery's default terminate signal).</summary>
    public void Revoked(TaskMessage message, bool terminated, bool expired)
    {
        if (!Sending) return;
        Dispatcher!.Send(new TaskRevokedEvent
        {
            Hostname = node, Timestamp = 0, TaskId = message.Id, Terminated = terminated, Signum = terminated ? 15 : null, Expired = expired,
        });
    }

    /// <summary>
    /// A message this worker refuses and dead-letters (unknown task, arguments that do not fit, lost too often):
    /// <c>task-failed</c> with the FAILURE it stored, then <c>task-rejected</c> (not requeued).
    /// </summary>
    public void Refused(TaskMessage message, RemoteException failure)
    {
        if (!Sending) return;
        Failed(message, failure);
        Dispatcher!.Send(new TaskRejectedEvent { Hostname = node, Timestamp = 0, TaskId = message.Id, Requeue = false });
    }

    /// <summary>A message that is not a task message: <c>task-rejected</c> when its envelope still names a task id.</summary>
    public void MalformedRefused(Delivery delivery)
    {
        if (!Sending) return;
        string? id;
        try
        {
            id = delivery.Envelope.Headers["id"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        }
        catch (MessageFormatException)
        {
            id = null; // not even an envelope: nothing to name in an event (the dead-letter log line says what it was)
        }
        if (!string.IsNullOrEmpty(id)) Dispatcher!.Send(new TaskRejectedEvent { Hostname = node, Timestamp = 0, TaskId = id, Requeue = false });
    }
}
