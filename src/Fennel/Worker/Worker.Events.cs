using System.Text.Json.Nodes;
using Fennel.Configuration;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

// The worker's events: worker-online, worker-heartbeat every 2 s and worker-offline always; task events (task-received …
// task-succeeded) when switched on by -E (WorkerOptions.TaskEvents) or the enable_events control command, sent by the
// stages through TaskEvents (TaskEvents.cs), which this file connects to the dispatcher once the worker runs.
public sealed partial class Worker
{
    private readonly TaskEvents _taskEvents;
    private EventDispatcher? _events;
    private Task _heart = Task.CompletedTask;
    private readonly CancellationTokenSource _stopHeart = new();

    /// <summary>Whether this worker sends task events now (<c>-E</c>, or the <c>enable_events</c> / <c>disable_events</c> commands).</summary>
    public bool TaskEventsEnabled => _taskEvents.Enabled;

    /// <summary>Switches task events on or off at run time; worker events (online, heartbeat, offline) are always sent.</summary>
    public void SetTaskEvents(bool enabled)
    {
        _taskEvents.Enabled = enabled;
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
        _taskEvents.Dispatcher = _events;
        _events.Send(Describe(new WorkerOnlineEvent { Hostname = Name, Timestamp = 0 }));
        _heart = Task.Run(BeatAsync, CancellationToken.None);
        Log.EventsStarted(_logger, Name, HeartbeatInterval.TotalSeconds, _taskEvents.Enabled ? "on" : "off (-E turns them on)");
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
