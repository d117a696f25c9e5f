using System.Collections.Immutable;
using Fennel.Events;

namespace Fennel.Monitoring;

/// <summary>
/// The monitor's picture of a cluster, built by applying Celery events in the order they arrive: workers (online by
/// heartbeat, offline after <c>worker-offline</c> or a missed heartbeat window) and tasks (state by Celery's precedence,
/// so a late event never moves a task back, with a timeline of events). Memory is bounded by
/// <see cref="ClusterStateOptions"/>. One thread applies events; any number read through <see cref="Snapshot"/>,
/// <see cref="GetTask"/> and <see cref="GetWorker"/>.
/// </summary>
public sealed class ClusterState
{
    private readonly ClusterStateOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskSlot> _tasks = new(StringComparer.Ordinal);
    // Unfinished tasks in the order first seen; finished ones in the order they finished. Eviction takes from the head.
    private readonly LinkedList<TaskSlot> _unfinished = new();
    private readonly LinkedList<TaskSlot> _finished = new();
    private readonly Dictionary<string, WorkerInfo> _workers = new(StringComparer.Ordinal);
    private long _eventCount;

    /// <summary>Creates an empty state.</summary>
    /// <param name="options">Bounds and the liveness rule; the defaults when null.</param>
    /// <param name="timeProvider">The clock for "now" (receipt times, liveness); <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="FennelConfigurationException">An option cannot work.</exception>
    public ClusterState(ClusterStateOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new ClusterStateOptions();
        _options.Validate();
        _options = new ClusterStateOptions
        {
            MaxTasks = _options.MaxTasks,
            MaxWorkers = _options.MaxWorkers,
            MaxTimelineEntries = _options.MaxTimelineEntries,
            HeartbeatExpiryFactor = _options.HeartbeatExpiryFactor,
        };
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Applies a batch of events in order (a decoded <c>task.multi</c> body).</summary>
    public void Apply(IEnumerable<CeleryEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events) Apply(e);
    }

    /// <summary>Applies one event. Events of unknown types are counted; those that name a task (<c>task-x</c> with a <c>uuid</c>) move it to the custom state <c>X</c>.</summary>
    public void Apply(CeleryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            _eventCount++;
            switch (e)
            {
                case WorkerEvent worker:
                    ApplyWorker(worker, now);
                    break;
                case TaskEvent task:
                    ApplyTask(e, task.TaskId, now);
                    break;
                case UnknownEvent { EventType: var type } when type.StartsWith("task-", StringComparison.Ordinal)
                    && e.Extra["uuid"]?.GetValueKind() == System.Text.Json.JsonValueKind.String:
                    ApplyTask(e, e.Extra["uuid"]!.GetValue<string>(), now);
                    break;
            }
        }
    }

    /// <summary>A consistent copy of everything, with worker liveness judged now.</summary>
    public ClusterSnapshot Snapshot()
    {
        var now = _time.GetUtcNow();
        WorkerInfo[] workers;
        TaskInfo[] tasks;
        long count;
        lock (_gate)
        {
            workers = [.. _workers.Values];
            tasks = [.. _tasks.Values.Select(s => s.Info)];
            count = _eventCount;
        }
        for (var i = 0; i < workers.Length; i++) workers[i] = WithLiveness(workers[i], now);
        Array.Sort(workers, (a, b) => string.CompareOrdinal(a.Hostname, b.Hostname));
        Array.Sort(tasks, (a, b) => b.LastUpdated.CompareTo(a.LastUpdated));
        return new ClusterSnapshot(now, workers, tasks, count);
    }

    /// <summary>One task, or null when unknown (never seen, or evicted).</summary>
    public TaskInfo? GetTask(string id)
    {
        lock (_gate) return _tasks.TryGetValue(id, out var slot) ? slot.Info : null;
    }

    /// <summary>One worker with its liveness judged now, or null when unknown.</summary>
    public WorkerInfo? GetWorker(string hostname)
    {
        WorkerInfo? worker;
        lock (_gate) worker = _workers.GetValueOrDefault(hostname);
        return worker is null ? null : WithLiveness(worker, _time.GetUtcNow());
    }

    /// <summary>The number of tasks held now.</summary>
    public int TaskCount
    {
        get { lock (_gate) return _tasks.Count; }
    }

    /// <summary>The number of workers held now.</summary>
    public int WorkerCount
    {
        get { lock (_gate) return _workers.Count; }
    }

    private WorkerInfo WithLiveness(WorkerInfo worker, DateTimeOffset now) => worker with
    {
        IsOnline = worker.LastHeartbeat is { } last && now < last + TimeSpan.FromSeconds(worker.Freq * _options.HeartbeatExpiryFactor),
    };

    private void ApplyWorker(WorkerEvent e, DateTimeOffset now)
    {
        var worker0 = GetOrAddWorker(e.Hostname);
        var worker = worker0 with
        {
            Pid = e.Pid ?? worker0.Pid,
            UtcOffset = e.UtcOffset ?? worker0.UtcOffset,
            Active = e.Active ?? worker0.Active,
            Processed = e.Processed ?? worker0.Processed,
            LoadAverage = e.LoadAverage ?? worker0.LoadAverage,
            SoftwareIdentity = e.SoftwareIdentity ?? worker0.SoftwareIdentity,
            SoftwareVersion = e.SoftwareVersion ?? worker0.SoftwareVersion,
            SoftwareSystem = e.SoftwareSystem ?? worker0.SoftwareSystem,
        };
        if (e.Freq is { } freq && freq > 0) worker = worker with { Freq = freq };
        worker = e is WorkerOfflineEvent
            ? worker with { LastHeartbeat = null, OfflineAt = now, LastEventTime = Later(worker.LastEventTime, e.Time) }
            : Heartbeat(worker, e, now);
        _workers[e.Hostname] = worker;
    }

    private static WorkerInfo Heartbeat(WorkerInfo worker, CeleryEvent e, DateTimeOffset now) => worker with
    {
        LastHeartbeat = Later(worker.LastHeartbeat, now),
        LastEventTime = Later(worker.LastEventTime, e.Time),
    };

    /// <summary>The worker's latest word on its liveness was <c>worker-offline</c> (which clears the heartbeat).</summary>
    private static bool SaidOffline(WorkerInfo worker) => worker is { OfflineAt: not null, LastHeartbeat: null };

    private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x > b ? x : b;

    private WorkerInfo GetOrAddWorker(string hostname)
    {
        if (_workers.TryGetValue(hostname, out var worker)) return worker;
        if (_workers.Count >= _options.MaxWorkers) EvictWorker();
        return new WorkerInfo { Hostname = hostname };
    }

    private void EvictWorker()
    {
        // Rare (past thousands of workers): a scan is enough. Offline workers go first, then the one heard from longest ago.
        var victim = _workers.Values
            .OrderBy(w => w.LastHeartbeat is null ? 0 : 1)
            .ThenBy(w => w.LastHeartbeat ?? w.OfflineAt ?? DateTimeOffset.MinValue)
            .First();
        _workers.Remove(victim.Hostname);
    }

    private void ApplyTask(CeleryEvent e, string id, DateTimeOffset now)
    {
        if (!_tasks.TryGetValue(id, out var slot))
        {
            if (_tasks.Count >= _options.MaxTasks) EvictTask();
            slot = new TaskSlot(new TaskInfo { Id = id, LastUpdated = now });
            slot.Node = _unfinished.AddLast(slot);
            _tasks[id] = slot;
        }
        var task = slot.Info;

        // A worker's task events are heartbeats too (Celery counts them); a client's task-sent is not. Except after
        // worker-offline: Celery says it when its warm shutdown begins, then finishes the tasks it runs, whose events must
        // not bring it back online for a heartbeat window. Its next worker-online or heartbeat does.
        if (e is TaskSentEvent) task = task with { Client = e.Hostname };
        else
        {
            var worker = GetOrAddWorker(e.Hostname);
            _workers[e.Hostname] = SaidOffline(worker) ? worker with { LastEventTime = Later(worker.LastEventTime, e.Time) } : Heartbeat(worker, e, now);
            task = task with { Worker = e.Hostname };
        }

        var state = CeleryStatePrecedence.StateOf(e.Type);
        var late = CeleryStatePrecedence.HappenedBefore(state, task.State);
        // Celery's merge rule: a late task-received only fills in the description; other late events add their fields. Neither changes the state.
        task = late && e is TaskReceivedEvent ? Describe(task, (TaskDescriptionEvent)e) : Merge(task, e);
        if (!late) task = task with { State = state, StateTime = e.Time };
        task = task with { Timeline = AddToTimeline(task.Timeline, new TaskTimelineEntry(e.Type, e.Time, now, e.Hostname, e.Clock)), LastUpdated = now };

        var wasFinished = slot.Info.IsFinished;
        slot.Info = task;
        if (wasFinished != task.IsFinished)
        {
            slot.Node!.List!.Remove(slot.Node);
            slot.Node = task.IsFinished ? _finished.AddLast(slot) : _unfinished.AddLast(slot);
        }
    }

    private ImmutableList<TaskTimelineEntry> AddToTimeline(ImmutableList<TaskTimelineEntry> timeline, TaskTimelineEntry entry)
    {
        // Keep the timeline in sender-time order: find the first later entry (events arrive nearly in order, so look from the end).
        var at = timeline.Count;
        while (at > 0 && timeline[at - 1].Time > entry.Time) at--;
        timeline = timeline.Insert(at, entry);
        return timeline.Count > _options.MaxTimelineEntries ? timeline.RemoveRange(0, timeline.Count - _options.MaxTimelineEntries) : timeline;
    }

    private static TaskInfo Merge(TaskInfo task, CeleryEvent e) => e switch
    {
        TaskSentEvent sent => Describe(task, sent) with { Queue = sent.Queue ?? task.Queue },
        TaskDescriptionEvent d => Describe(task, d),
        TaskSucceededEvent s => task with { Result = s.Result ?? task.Result, Runtime = s.Runtime ?? task.Runtime },
        TaskExceptionEvent x => task with { Exception = x.Exception ?? task.Exception, Traceback = x.Traceback ?? task.Traceback },
        TaskRevokedEvent r => task with { Terminated = r.Terminated ?? task.Terminated, Expired = r.Expired ?? task.Expired },
        _ => task,
    };

    private static TaskInfo Describe(TaskInfo task, TaskDescriptionEvent d) => task with
    {
        Name = d.Name ?? task.Name,
        Args = d.Args ?? task.Args,
        Kwargs = d.Kwargs ?? task.Kwargs,
        RootId = d.RootId ?? task.RootId,
        ParentId = d.ParentId ?? task.ParentId,
        Retries = d.Retries ?? task.Retries,
        Eta = d.Eta ?? task.Eta,
        Expires = d.Expires ?? task.Expires,
    };

    private void EvictTask()
    {
        var victim = (_finished.First ?? _unfinished.First)!.Value;
        victim.Node!.List!.Remove(victim.Node);
        _tasks.Remove(victim.Info.Id);
    }

    private sealed class TaskSlot(TaskInfo info)
    {
        public TaskInfo Info { get; set; } = info;
        public LinkedListNode<TaskSlot>? Node { get; set; }
    }
}
