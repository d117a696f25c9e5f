using Fennel.Bench.Processes;

namespace Fennel.Bench.Measuring;

/// <summary>
/// Many sleeping tasks on one worker: the queue holds N <c>bench.sleep</c> calls, a worker with concurrency N starts,
/// and the run samples its memory every 100 ms until its drain probe reports the last task finished (or the time
/// runs out, or the worker exits). When the probe reports that the last task has started, the memory read then is the
/// memory "while all sleep". The worker is stopped at the end (killed, when it did not finish).
/// </summary>
internal static class SleepersMeasurement
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(100);

    /// <param name="system">The column, for the report.</param>
    /// <param name="configuration">The worker's pool and concurrency, for the report.</param>
    /// <param name="fill">How the queue was filled; its task count is the number expected to run.</param>
    /// <param name="sleep">How long each task sleeps.</param>
    /// <param name="startWorker">Starts the worker with the drain probe writing to the given file.</param>
    /// <param name="queueLength">The length of the queue the tasks were in.</param>
    /// <param name="timeout">How long the tasks may take beyond their sleep, from the worker's start.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public static async Task<SleepersResult> RunAsync(string system, string configuration, EnqueueResult fill, TimeSpan sleep,
        Func<string, ChildProcess> startWorker, Func<Task<long>> queueLength, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fill);
        ArgumentNullException.ThrowIfNull(startWorker);
        ArgumentNullException.ThrowIfNull(queueLength);
        var probe = Path.Combine(Path.GetTempPath(), $"fennel-bench-probe-{Guid.NewGuid():N}.json");
        var startedProbe = DrainProbe.StartedPath(probe);
        await using var worker = startWorker(probe);
        try
        {
            var deadline = worker.StartedAt + sleep + timeout;
            var peak = new MemoryUsage(0, 0, 0);
            AllStartedReport? allStarted = null;
            MemoryUsage? allSleeping = null;
            string? failure = null;
            while (!File.Exists(probe))
            {
                if (worker.HasExited)
                {
                    failure = $"the worker exited with {worker.Describe(lastLines: 5)}";
                    break;
                }
                if (DateTimeOffset.UtcNow > deadline)
                {
                    failure = $"not finished within {(sleep + timeout).TotalSeconds:0} s of the worker's start";
                    break;
                }
                var memory = ProcessTree.Memory(worker.Id);
                if (memory.RssKiB > peak.RssKiB) peak = memory;
                if (allStarted is null && File.Exists(startedProbe))
                {
                    allStarted = AllStartedReport.Read(startedProbe);
                    allSleeping = memory;
                }
                await Task.Delay(SampleEvery, cancellationToken);
            }
            var drain = failure is null ? DrainProbeReport.Read(probe) : null;
            if (allStarted is null && File.Exists(startedProbe)) allStarted = AllStartedReport.Read(startedProbe); // it came between two samples
            var after = worker.HasExited ? new MemoryUsage(0, 0, 0) : ProcessTree.Memory(worker.Id);
            if (after.RssKiB > peak.RssKiB) peak = after;
            var cpu = worker.HasExited ? TimeSpan.Zero : ProcessTree.CpuTime(worker.Id);
            var left = await queueLength();
            if (failure is null) await worker.StopAsync(TimeSpan.FromSeconds(30)); // else killed on the way out, sleepers and all
            return new SleepersResult(system, configuration, fill.Tasks, sleep, fill, worker.StartedAt, allStarted, drain, peak, allSleeping, after, cpu, left, failure);
        }
        finally
        {
            File.Delete(probe);
            File.Delete(startedProbe);
        }
    }
}
