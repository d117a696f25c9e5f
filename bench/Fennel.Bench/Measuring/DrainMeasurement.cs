using Fennel.Bench.Processes;
using Fennel.Bench.Brokers;

namespace Fennel.Bench.Measuring;

/// <summary>
/// One drain, the same way for every system: the queue is full, the worker process starts, and the drain ends when the
/// worker's drain probe reports that every task has run (<see cref="DrainProbeReport"/>); then the queue's length is read
/// (0 when nothing was left behind). The worker is left running, for round trips against a warm worker; the caller stops it.
/// </summary>
internal static class DrainMeasurement
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(10);

    /// <param name="configuration">The worker's pool and concurrency, for the report.</param>
    /// <param name="fill">How the queue was filled; its task count is the number expected to run.</param>
    /// <param name="startWorker">Starts the worker with the drain probe writing to the given file.</param>
    /// <param name="queueLength">The length of the queue the tasks were in.</param>
    /// <param name="broker">The run's broker, for its CPU time (and on Redis its commands); null when the system uses another broker.</param>
    /// <param name="timeout">How long the drain may take.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public static async Task<(DrainResult Result, ChildProcess Worker)> RunAsync(string configuration, EnqueueResult fill,
        Func<string, ChildProcess> startWorker, Func<Task<long>> queueLength, IBenchBroker? broker, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fill);
        ArgumentNullException.ThrowIfNull(startWorker);
        ArgumentNullException.ThrowIfNull(queueLength);
        var probe = Path.Combine(Path.GetTempPath(), $"fennel-bench-probe-{Guid.NewGuid():N}.json");
        var before = broker is null ? null : await broker.SnapshotAsync();
        var worker = startWorker(probe);
        try
        {
            // Sample the worker's CPU time while waiting, so the CPU it used for start-up can be told from the drain's.
            var cpu = new List<(DateTimeOffset At, TimeSpan Cpu)>();
            var deadline = worker.StartedAt + timeout;
            while (!File.Exists(probe))
            {
                if (worker.HasExited) throw new InvalidOperationException($"{worker.Name} exited during the drain.\n{worker.Describe()}");
                if (DateTimeOffset.UtcNow > deadline)
                {
                    throw new TimeoutException($"{worker.Name} did not run {fill.Tasks} tasks within {timeout.TotalSeconds:0} s " +
                        $"({await queueLength()} still queued).\n{worker.Describe()}");
                }
                cpu.Add((DateTimeOffset.UtcNow, ProcessTree.CpuTime(worker.Id)));
                await Task.Delay(SampleEvery, cancellationToken);
            }
            var after = broker is null ? null : await broker.SnapshotAsync();
            var cpuAtEnd = ProcessTree.CpuTime(worker.Id);
            var memory = ProcessTree.Memory(worker.Id);
            var report = DrainProbeReport.Read(probe);
            var cpuAtFirst = cpu.LastOrDefault(s => s.At <= report.First).Cpu;
            var left = await queueLength();
            var result = new DrainResult(configuration, fill.Tasks, fill, report.Last - report.First, report.Last - report.Half, report.Last - worker.StartedAt,
                memory, cpuAtEnd - cpuAtFirst, after?.Since(before!), left, report.Peak);
            return (result, worker);
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
        finally
        {
            File.Delete(probe);
        }
    }
}
