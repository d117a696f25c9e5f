using Fennel.Bench.Processes;
using Fennel.Bench.Brokers;

namespace Fennel.Bench.Measuring;

/// <summary>One drain: a worker started on a queue of <see cref="Tasks"/> no-op tasks and ran them all.</summary>
/// <param name="Configuration">The worker's pool and concurrency, e.g. "async -c 8".</param>
/// <param name="Tasks">How many tasks were waiting and ran.</param>
/// <param name="Fill">How the queue was filled (a sample of the enqueue rate).</param>
/// <param name="FirstToLast">From the first task's run to the last one's, as the worker's drain probe saw them.</param>
/// <param name="HalfToLast">From the run that reached half the tasks to the last: the second half, on a worker warmed by the first.</param>
/// <param name="StartToLast">From starting the worker process to the last task's run: start-up included.</param>
/// <param name="MemoryAfter">The worker's memory once the queue was drained.</param>
/// <param name="WorkerCpu">CPU time the worker's processes used from their start to the last task.</param>
/// <param name="Broker">What the broker did from the worker's start to the last task; null when the broker was not the run's.</param>
/// <param name="QueueLengthAfter">The queue's length after the drain (0 when nothing was left behind).</param>
/// <param name="PeakRunning">The most tasks running at once, for tasks that tell the probe when they start (<c>bench.sleep</c>); else 0.</param>
internal sealed record DrainResult(string Configuration, int Tasks, EnqueueResult Fill, TimeSpan FirstToLast, TimeSpan HalfToLast, TimeSpan StartToLast,
    MemoryUsage MemoryAfter, TimeSpan WorkerCpu, BrokerUsage? Broker, long QueueLengthAfter, long PeakRunning = 0)
{
    /// <summary>Tasks per second, first task to last.</summary>
    public double Rate => Tasks / FirstToLast.TotalSeconds;

    /// <summary>Tasks per second over the second half: the worker has run the first half, its JIT and pools are warm.</summary>
    public double SecondHalfRate => (Tasks - DrainProbeReport.HalfOf(Tasks)) / HalfToLast.TotalSeconds;

    /// <summary>Tasks per second, worker start to last task.</summary>
    public double RateWithStartUp => Tasks / StartToLast.TotalSeconds;

    public double WorkerCpuMicrosecondsPerTask => WorkerCpu.TotalMicroseconds / Tasks;

    /// <summary>The broker's commands, when it is Redis.</summary>
    public RedisUsage? Redis => Broker?.Redis;

    public double BrokerCpuMicrosecondsPerTask => Broker is null ? double.NaN : Broker.Cpu.TotalMicroseconds / Tasks;

    /// <summary>The kernel's share of the broker's CPU time (socket I/O, and for RabbitMQ the disk), 0 to 1.</summary>
    public double BrokerKernelShare => Broker is null || Broker.Cpu <= TimeSpan.Zero ? double.NaN : Broker.System / Broker.Cpu;

    public double RedisCommandsPerTask => Redis is null ? double.NaN : Redis.TotalCalls / (double)Tasks;
}
