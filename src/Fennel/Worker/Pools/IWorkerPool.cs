using System.Text.Json.Nodes;

namespace Fennel.Worker.Pools;

/// <summary>
/// Where a task's handler runs. The worker bounds how many run at once (its concurrency); the pool decides on which
/// threads: the shared thread pool (<see cref="AsyncPool"/>) or threads of its own (<see cref="ThreadsPool"/>).
/// </summary>
internal interface IWorkerPool : IDisposable
{
    /// <summary>The pool's name as <c>-P</c> spells it.</summary>
    string Name { get; }

    /// <summary>Runs a handler and returns its result.</summary>
    ValueTask<JsonNode?> RunAsync(Func<ValueTask<JsonNode?>> handler);

    /// <summary>
    /// The worker's concurrency changed (pool grow / shrink): make room for that many tasks at once. Never stops a running
    /// task: a slot above the new size goes away once its task ends.
    /// </summary>
    void Resize(int concurrency);

    /// <summary>
    /// Replaces the pool's threads or child processes (pool restart, so deployed code is picked up where it can be).
    /// Running tasks finish on the old ones; new tasks start on the new ones.
    /// </summary>
    Task RestartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The runner stopped waiting for <paramref name="run"/> (hard time limit, terminate) though its handler did not return:
    /// the pool replaces the thread it holds, so it keeps its concurrency.
    /// </summary>
    void Abandon(Task run);
}
