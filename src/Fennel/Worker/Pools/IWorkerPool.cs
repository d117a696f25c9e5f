namespace Fennel.Worker.Pools;

/// <summary>
/// Where a task's handler runs. The worker bounds how many run at once (its concurrency); the pool decides where: the
/// shared thread pool (<see cref="AsyncPool"/>), threads of its own (<see cref="ThreadsPool"/>) or child processes
/// (<see cref="ProcessPool"/>). Whatever the pool, it calls the <see cref="ITaskInvocation"/> it is handed in
/// <see cref="PoolWork"/> (here, or in a child process with the child's own) and hands its outcome back to
/// <see cref="TaskRunner"/>, which decides the rest (time limits, terminate, cold shutdown, a lost child); a pool never
/// calls the runner.
/// </summary>
internal interface IWorkerPool : IDisposable
{
    /// <summary>The pool's name as <c>-P</c> spells it.</summary>
    string Name { get; }

    /// <summary>
    /// Runs <paramref name="work"/>'s handler and returns how it ended. <paramref name="cancellationToken"/> stops the run as
    /// hard as the pool can (cold shutdown, terminate): in-process it is the handler's token; the process pool kills the
    /// child. A stopped run throws <see cref="OperationCanceledException"/>; a child lost on its own throws
    /// <see cref="WorkerLostException"/>.
    /// </summary>
    Task<TaskOutcome> RunAsync(PoolWork work, CancellationToken cancellationToken);

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
    /// the pool replaces the thread it holds, or kills the child running it, so it keeps its concurrency.
    /// </summary>
    void Abandon(Task run, AbandonReason reason);
}

/// <summary>Why the runner gave up on a run (for the pool's logs).</summary>
internal enum AbandonReason
{
    /// <summary>It ran past its hard time limit.</summary>
    TimeLimit,

    /// <summary>It was revoked with terminate.</summary>
    Terminated,
}

/// <summary>
/// One run for a pool: the invocation an in-process pool calls, the job, its soft time limit, and <paramref name="Started"/>, which the pool calls when the handler begins (on its thread, or in its
/// child): the hard time limit counts from then, not from waiting for a thread or a child.
/// </summary>
internal sealed record PoolWork(ITaskInvocation Invocation, TaskJob Job, TimeSpan? SoftTimeLimit, Action Started)
{
    /// <summary>Runs the handler here, on the calling thread until its first await.</summary>
    public Task<TaskOutcome> InvokeHereAsync(CancellationToken cancellationToken)
    {
        Started();
        return Invocation.InvokeAsync(Job, SoftTimeLimit, cancellationToken);
    }
}

/// <summary>
/// The process running a task was lost without an answer (a child that crashed, called <c>Environment.FailFast</c>, was
/// killed by someone else or by the kernel's OOM killer). The task may run again, up to the delivery limit.
/// </summary>
internal sealed class WorkerLostException(string message) : FennelException(message);
