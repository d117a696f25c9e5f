using System.Collections.Immutable;
using Fennel.Events;

namespace Fennel.Monitoring;

/// <summary>
/// The monitor's picture of a cluster, built by applying Celery events in the order they arrive (through <see cref="TaskFold"/> and <see cref="WorkerFold"/>): workers (online by
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
            if (e is WorkerEvent worker) _workers[worker.Hostname] = WorkerFold.Apply(FindWorker(worker.Hostname), worker, now);
            else if (TaskFold.TaskIdOf(e) is { } id) ApplyTask(e, id, now);
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

    private WorkerInfo WithLiveness(WorkerInfo worker, DateTimeOffset now) => WorkerFold.WithLiveness(worker, now, _options.HeartbeatExpiryFactor);

    /// <summary>The worker, or null when unknown; then room is made for it (a worker is about to be added).</summary>
    private WorkerInfo? FindWorker(string hostname)
    {
        if (_workers.TryGetValue(hostname, out var worker)) return worker;
        if (_workers.Count >= _options.MaxWorkers) EvictWorker();
        return null;
    }

    private void EvictWorker()
    {
        // Rare (past thousands of workers): a scan is enough. Offline workers go first, then the one heard from longest ago.
        var victim = _workers.Values
            .OrderBy(w => w.SaidOffline ? 0 : 1)
            .ThenBy(w => (w.SaidOffline ? w.OfflineAt : w.LastHeard) ?? DateTimeOffset.MinValue)
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
        // A worker's task events are heartbeats too (Celery counts them); a client's task-sent is not (see WorkerFold).
        if (WorkerFold.SentByWorker(e)) _workers[e.Hostname] = WorkerFold.ApplyTaskEvent(FindWorker(e.Hostname), e, now);
        var task = TaskFold.Apply(slot.Info, id, e, now);
        task = task with { Timeline = AddToTimeline(task.Timeline, TaskFold.TimelineEntry(e, now)) };

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
