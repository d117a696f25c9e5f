using Fennel.Bench.Processes;

namespace Fennel.Bench.Measuring;

/// <summary>
/// A worker's memory at rest: started on an empty queue, ready (its own ready line), left alone for a settling time,
/// then read from /proc, and stopped.
/// </summary>
internal static class IdleMemory
{
    public static async Task<MemoryUsage> MeasureAsync(ChildProcess worker, Func<string, bool> readyLine, TimeSpan settle,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        await using (worker)
        {
            await worker.WaitForLineAsync(readyLine, TimeSpan.FromSeconds(60), cancellationToken);
            await Task.Delay(settle, cancellationToken);
            if (worker.HasExited) throw new InvalidOperationException($"{worker.Name} exited while idle.\n{worker.Describe()}");
            var memory = ProcessTree.Memory(worker.Id);
            await worker.StopAsync(TimeSpan.FromSeconds(30));
            return memory;
        }
    }
}
