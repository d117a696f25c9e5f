using Fennel.Bench.Processes;

namespace Fennel.Bench.Measuring;

/// <summary>
/// Many tasks sleeping at once on one worker: <see cref="Tasks"/> <c>bench.sleep</c> calls of <see cref="Sleep"/>
/// each, queued before a worker with that concurrency starts.
/// </summary>
/// <param name="System">The column, e.g. "Fennel", "Celery gevent".</param>
/// <param name="Configuration">The worker's pool, concurrency and prefetch multiplier.</param>
/// <param name="Tasks">How many were queued.</param>
/// <param name="Sleep">How long each sleeps.</param>
/// <param name="Fill">How the queue was filled.</param>
/// <param name="StartedAt">When the worker process was started.</param>
/// <param name="AllStarted">When the last task started, and how many were running then; null if not all started.</param>
/// <param name="Drain">When the first started and the last finished, and the peak running at once; null if not all finished.</param>
/// <param name="PeakMemory">The worker's highest RSS of the samples taken every 100 ms from its start to the end.</param>
/// <param name="MemoryAllSleeping">The worker's memory when the last task had started; null if not all started.</param>
/// <param name="MemoryAfter">The worker's memory when the last task had finished, or at the end of the wait.</param>
/// <param name="WorkerCpu">CPU time of the worker's processes from its start to the end.</param>
/// <param name="QueueLengthAfter">The queue's length at the end (0 when the worker took every task).</param>
/// <param name="Failure">Why the measurement ended early (timed out, worker exited), or null.</param>
internal sealed record SleepersResult(string System, string Configuration, int Tasks, TimeSpan Sleep, EnqueueResult Fill, DateTimeOffset StartedAt,
    AllStartedReport? AllStarted, DrainProbeReport? Drain, MemoryUsage PeakMemory, MemoryUsage? MemoryAllSleeping, MemoryUsage MemoryAfter,
    TimeSpan WorkerCpu, long QueueLengthAfter, string? Failure)
{
    /// <summary>The most tasks running at once: from the finished drain, else from the all-started report; null when neither came.</summary>
    public long? Peak => Drain?.Peak ?? AllStarted?.Peak;

    /// <summary>True when every task was running at once: none had finished when the last one started.</summary>
    public bool AllAtOnce => AllStarted is { } started && started.Running == Tasks;

    /// <summary>From the first task's start to the last task's start.</summary>
    public TimeSpan? FirstToAllStarted => AllStarted is { } s && Drain is { } d ? s.At - d.First : null;

    /// <summary>From the first task's start to the last task's end; at best <see cref="Sleep"/>.</summary>
    public TimeSpan? FirstToLast => Drain is { } d ? d.Last - d.First : null;

    /// <summary>From starting the worker process to the last task's end.</summary>
    public TimeSpan? StartToLast => Drain is { } d ? d.Last - StartedAt : null;
}
