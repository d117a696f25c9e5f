using System.Text.Json.Nodes;
using Fennel.Configuration;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

// The worker's events: worker-online, worker-heartbeat every 2 s and worker-offline always; task events (task-received …
// task-succeeded) when switched on by -E (WorkerOptions.TaskEvents) or the enable_events control command. The hooks
// where task outcomes happen (Worker.Dispatch.cs, Worker.Execute.cs, Worker.Revokes.cs) are one call each to the
// On* methods below, which return at once when task events are off: a bool check, no allocation.
public sealed partial class Worker
{
    private volatile bool _taskEvents;
    private EventDispatcher? _events;
    private Task _heart = Task.CompletedTask;
    private readonly CancellationTokenSource _stopHeart = new();

    /// <summary>Whether this worker sends task events now (<c>-E</c>, or the <c>enable_events</c> / <c>disable_events</c> commands).</summary>
    public bool TaskEventsEnabled => _taskEvents;

    /// <summary>Switches task events on or off at run time; worker events (online, heartbeat, offline) are always sent.</summary>
    public void SetTaskEvents(bool enabled)
    {
        _taskEvents = enabled;
        Log.TaskEventsSwitched(_logger, Name, enabled ? "on" : "off");
    }

    /// <summary>The heartbeat interval, sent as <c>freq</c>: 2 s, as Celery. Shorter in tests.</summary>
    internal TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The dispatcher while the worker runs; null before, after, or on a broker that cannot broadcast.</summary>
    internal EventDispatcher? EventDispatcher => _events;

    /// <summary>Sends a <c>worker-heartbeat</c> now, outside the regular 2 s beat (the <c>heartbeat</c> control command).</summary>
    internal Task SendHeartbeatAsync(CancellationToken cancellationToken = default)
    {
        _events?.Send(Describe(new WorkerHeartbeatEvent { Hostname = Name, Timestamp = 0 }));
        return Task.CompletedTask;
    }

    /// <summary>Once consuming: <c>worker-online</c>, then a heartbeat every <see cref="HeartbeatInterval"/>.</summary>
    private void StartEvents()
    {
        if (_transport is not IBroadcastTransport broadcast)
        {
            Log.EventsUnavailable(_logger, Name, BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl));
            return;
        }
        _events = new EventDispatcher(broadcast, Name, _app.Clock, _time, _app.LoggerFactory.CreateLogger("Fennel.Events"), batchTaskEvents: true);
        _events.Send(Describe(new WorkerOnlineEvent { Hostname = Name, Timestamp = 0 }));
        _heart = Task.Run(BeatAsync, CancellationToken.None);
        Log.EventsStarted(_logger, Name, HeartbeatInterval.TotalSeconds, _taskEvents ? "on" : "off (-E turns them on)");
    }

    private async Task BeatAsync()
    {
        using var timer = new PeriodicTimer(HeartbeatInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopHeart.Token).ConfigureAwait(false))
            {
                _events?.Send(Describe(new WorkerHeartbeatEvent { Hostname = Name, Timestamp = 0 }));
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    /// <summary>On warm and cold stop alike: <c>worker-offline</c> after the last task event, sent within about a second.</summary>
    private async Task StopEventsAsync()
    {
        await _stopHeart.CancelAsync().ConfigureAwait(false);
        await _heart.ConfigureAwait(false);
        if (_events is not { } events) return;
        events.Send(Describe(new WorkerOfflineEvent { Hostname = Name, Timestamp = 0 }));
        await events.DisposeAsync().ConfigureAwait(false);
    }

    private T Describe<T>(T e) where T : WorkerEvent => e with
    {
        Freq = HeartbeatInterval.TotalSeconds,
        Active = Running,
        Processed = Processed,
        LoadAverage = WorkerSoftware.LoadAverage(),
        SoftwareIdentity = WorkerSoftware.Identity,
        SoftwareVersion = WorkerSoftware.Version,
        SoftwareSystem = WorkerSoftware.System,
    };

    private bool SendingTaskEvents => _taskEvents && _events is not null;

    /// <summary><c>task-received</c>: the task description, arguments as Python reprs with sensitive values shown as <c>'***'</c>.</summary>
    private void OnTaskReceived(TaskMessage message, TaskDefinition task)
    {
        if (!SendingTaskEvents) return;
        // The task's own redaction wins over the sender's argsrepr: a Python client does not know what is sensitive here.
        var (args, kwargs) = task.Redaction?.Repr(message.Args, message.Kwargs)
            ?? (message.ArgsRepr ?? PythonRepr.Args(message.Args), message.KwargsRepr ?? PythonRepr.Kwargs(message.Kwargs));
        _events!.Send(new TaskReceivedEvent
        {
            Hostname = Name, Timestamp = 0, TaskId = message.Id,
            Name = message.Task, Args = args, Kwargs = kwargs, RootId = message.RootId, ParentId = message.ParentId,
            Retries = message.Retries,
            Eta = message.Eta is { } eta ? CeleryTime.Format(eta) : null,
            Expires = message.Expires is { } expires ? CeleryTime.Format(expires) : null,
        });
    }

    /// <summary><c>task-started</c>, unless it expired (then only <c>task-revoked</c> follows, as in Celery).</summary>
    private void OnTaskStarted(TaskMessage message)
    {
        if (!SendingTaskEvents || message.Expires <= _time.GetUtcNow()) return;
        _events!.Send(new TaskStartedEvent { Hostname = Name, Timestamp = 0, TaskId = message.Id });
    }

    private void OnTaskSucceeded(TaskMessage message, JsonNode? value, double runtime)
    {
        if (!SendingTaskEvents) return;
        _events!.Send(new TaskSucceededEvent
        {
            Hostname = Name, Timestamp = 0, TaskId = message.Id, Result = value is null ? "None" : PythonRepr.Of(value), Runtime = runtime,
        });
    }

    private void OnTaskFailed(TaskMessage message, RemoteException error)
    {
        if (!SendingTaskEvents) return;
        _events!.Send(new TaskFailedEvent
        {
            Hostname = Name, Timestamp = 0, TaskId = message.Id, Exception = ExceptionRepr(error), Traceback = error.Traceback,
        });
    }

    private void OnTaskRetried(TaskMessage message, RemoteException reason)
    {
        if (!SendingTaskEvents) return;
        _events!.Send(new TaskRetriedEvent
        {
            Hostname = Name, Timestamp = 0, TaskId = message.Id, Exception = ExceptionRepr(reason), Traceback = reason.Traceback,
        });
    }

    /// <summary><c>task-revoked</c>: discarded unrun, expired, or terminated (SIGTERM, 15, as Celery's default terminate signal).</summary>
    private void OnTaskRevoked(TaskMessage message, bool terminated, bool expired)
    {
        if (!SendingTaskEvents) return;
        _events!.Send(new TaskRevokedEvent
        {
            Hostname = Name, Timestamp = 0, TaskId = message.Id, Terminated = terminated, Signum = terminated ? 15 : null, Expired = expired,
        });
    }

    /// <summary>
    /// A message this worker refuses and dead-letters (unknown task, arguments that do not fit, lost too often):
    /// <c>task-failed</c> with the FAILURE it stored, then <c>task-rejected</c> (not requeued).
    /// </summary>
    private void OnTaskRefused(TaskMessage message, RemoteException failure)
    {
        if (!SendingTaskEvents) return;
        OnTaskFailed(message, failure);
        _events!.Send(new TaskRejectedEvent { Hostname = Name, Timestamp = 0, TaskId = message.Id, Requeue = false });
    }

    /// <summary>A message that is not a task message: <c>task-rejected</c> when its envelope still names a task id.</summary>
    private void OnMalformedRefused(Delivery delivery)
    {
        if (!SendingTaskEvents) return;
        string? id;
        try
        {
            id = KombuEnvelope.Decode(delivery.Body.Span).Headers["id"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        }
        catch (MessageFormatException)
        {
            id = null; // not even an envelope: nothing to name in an event (the dead-letter log line says what it was)
        }
        if (!string.IsNullOrEmpty(id)) _events!.Send(new TaskRejectedEvent { Hostname = Name, Timestamp = 0, TaskId = id, Requeue = false });
    }

    /// <summary>
    /// An exception as Python's <c>repr()</c> shows it, as Celery sends it: <c>ValueError('boom')</c>. A message that is
    /// already a Python literal (Celery's <c>NotRegistered('tasks.x')</c> keeps the repr as its message) is not quoted again.
    /// </summary>
    internal static string ExceptionRepr(RemoteException error)
    {
        var message = error.Message;
        var literal = message.Length >= 2 && message[0] == '\'' && message[^1] == '\'';
        return $"{error.Type}({(literal ? message : PythonRepr.Of(JsonValue.Create(message)))})";
    }
}
