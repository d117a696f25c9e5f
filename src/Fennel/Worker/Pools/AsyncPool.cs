namespace Fennel.Worker.Pools;

/// <summary>
/// Runs handlers on the shared thread pool: thousands of tasks that await I/O run at once on a few threads.
/// A handler that blocks holds a thread-pool thread; use <see cref="ThreadsPool"/> for such tasks.
/// </summary>
internal sealed class AsyncPool : IWorkerPool
{
    public string Name => "async";

    // Queued to the thread pool rather than called inline, so a handler that computes before its first await (or never
    // awaits) cannot hold the runner: the hard time limit and terminate still end the task on time.
    public Task<TaskOutcome> RunAsync(PoolWork work, CancellationToken cancellationToken) => Task.Run(() => work.InvokeHereAsync(cancellationToken), CancellationToken.None);

    public void Resize(int concurrency) { } // the worker's runners bound it; no threads of its own

    public Task RestartAsync(CancellationToken cancellationToken) => Task.CompletedTask; // nothing to replace in-process

    public void Abandon(Task run, AbandonReason reason) { } // it holds no thread while it awaits; a handler spinning on the CPU keeps one until it returns

    public void Dispose() { }
}
