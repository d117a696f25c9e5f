namespace Fennel.Worker;

/// <summary>How a worker runs: what it consumes, how many tasks at once, and how it stops.</summary>
public sealed class WorkerOptions
{
    /// <summary>The queues to consume (<c>-Q a,b</c>). <value>Default: the app's default queue (<c>celery</c>).</value></summary>
    public List<string> Queues { get; set; } = [];

    /// <summary>
    /// The node name (<c>-n</c>): <c>%h</c> = host with domain, <c>%n</c> = host, <c>%d</c> = domain; without <c>@</c>,
    /// <c>celery@</c> is put in front, as Celery does. <value>Default: <c>celery@%h</c>.</value>
    /// </summary>
    public string NodeName { get; set; } = "celery@%h";

    /// <summary>How many tasks run at once (<c>-c</c>). <value>Default: the number of CPU cores.</value></summary>
    public int Concurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>The pool (<c>-P</c>: <c>async</c>, <c>threads</c>, <c>process</c> or its alias <c>prefork</c>). <value>Default: <see cref="WorkerPoolKind.Async"/>.</value></summary>
    public WorkerPoolKind Pool { get; set; } = WorkerPoolKind.Async;

    /// <summary>
    /// Messages held per unit of concurrency (<c>--prefetch-multiplier</c>): the worker holds at most
    /// <c>Concurrency × PrefetchMultiplier</c> messages. <value>Default: 4, as Celery.</value>
    /// </summary>
    public int PrefetchMultiplier { get; set; } = 4;

    /// <summary>
    /// How long a warm shutdown waits for running tasks before stopping cold (unfinished tasks go back to the broker).
    /// Keep it below the supervisor's stop timeout (Supervisor's <c>stopwaitsecs</c>, systemd's <c>TimeoutStopSec</c>).
    /// <value>Default: 50 seconds.</value>
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>
    /// How long a fetched message stays ours without renewal (the visibility timeout). The worker renews every held message
    /// at a third of this, so a live task never runs twice; a crashed worker's messages come back after it.
    /// <value>Default: 30 seconds.</value>
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Deliveries after which a message that keeps losing its worker (a crash it causes, say) is dead-lettered.
    /// <value>Default: 5.</value>
    /// </summary>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>
    /// The soft time limit for tasks that set none themselves (<c>--soft-time-limit</c>): the task's token fires and
    /// <see cref="Tasks.TaskContext.SoftTimeLimitExceeded"/> turns true. <value>Default: none.</value>
    /// </summary>
    public TimeSpan? SoftTimeLimit { get; set; }

    /// <summary>
    /// The hard time limit for tasks that set none themselves (<c>--time-limit</c>): past it the task ends FAILURE
    /// <c>TimeLimitExceeded</c>. <value>Default: none.</value>
    /// </summary>
    public TimeSpan? TimeLimit { get; set; }

    /// <summary>
    /// Process pool only (<c>--max-tasks-per-child</c>): a child process is replaced after running this many tasks, so a
    /// slow leak never grows without bound. <value>Default: none (children live as long as the worker).</value>
    /// </summary>
    public int? MaxTasksPerChild { get; set; }

    /// <summary>
    /// Process pool only (<c>--max-memory-per-child</c>), in KiB as in Celery: a child whose resident memory is above this
    /// after a task is replaced. The task that crossed the limit finishes first; it is never cut short.
    /// <value>Default: none.</value>
    /// </summary>
    public long? MaxMemoryPerChild { get; set; }

    /// <summary>Store the STARTED state when a task starts (one more write per task). <value>Default: false, as Celery.</value></summary>
    public bool TrackStarted { get; set; }

    /// <summary>
    /// Send task events (<c>-E</c>, <c>Fennel:Worker:TaskEvents</c>): <c>task-received</c>, <c>-started</c>,
    /// <c>-succeeded</c>, <c>-failed</c>, <c>-retried</c>, <c>-revoked</c>, <c>-rejected</c> on the <c>celeryev</c> exchange,
    /// for <c>celery events</c>, Flower and <c>fennel events</c>. Worker events (online, heartbeat, offline) are always
    /// sent. <see cref="Worker.SetTaskEvents"/> switches them at run time. <value>Default: false, as Celery.</value>
    /// </summary>
    public bool TaskEvents { get; set; }

    /// <summary>
    /// Mingle at start-up (Celery's; <c>--without-mingle</c> turns it off): ask the running workers <c>hello</c> and merge
    /// their revoked task ids, waiting about a second for replies. Only on brokers that broadcast.
    /// <value>Default: true, as Celery.</value>
    /// </summary>
    public bool Mingle { get; set; } = true;

    /// <summary>Throws <see cref="FennelConfigurationException"/> naming the first bad option.</summary>
    public void Validate()
    {
        if (Concurrency < 1) throw new FennelConfigurationException($"Worker concurrency must be at least 1, not {Concurrency}.");
        if (PrefetchMultiplier < 1) throw new FennelConfigurationException($"Worker prefetch multiplier must be at least 1, not {PrefetchMultiplier}.");
        if (LeaseDuration < TimeSpan.FromSeconds(1)) throw new FennelConfigurationException($"Worker lease duration must be at least 1 s, not {LeaseDuration}.");
        if (ShutdownTimeout < TimeSpan.Zero) throw new FennelConfigurationException($"Worker shutdown timeout must not be negative, not {ShutdownTimeout}.");
        if (MaxDeliveries < 1) throw new FennelConfigurationException($"Worker max deliveries must be at least 1, not {MaxDeliveries}.");
        if (SoftTimeLimit is { } soft && soft <= TimeSpan.Zero) throw new FennelConfigurationException($"Worker soft time limit must be positive, not {soft}.");
        if (TimeLimit is { } hard && hard <= TimeSpan.Zero) throw new FennelConfigurationException($"Worker time limit must be positive, not {hard}.");
        if (MaxTasksPerChild is { } tasks && tasks < 1) throw new FennelConfigurationException($"Worker max tasks per child must be at least 1, not {tasks}.");
        if (MaxMemoryPerChild is { } kib && kib < 1) throw new FennelConfigurationException($"Worker max memory per child must be at least 1 KiB, not {kib}.");
        if (Pool != WorkerPoolKind.Process && (MaxTasksPerChild is not null || MaxMemoryPerChild is not null))
        {
            throw new FennelConfigurationException($"Worker max tasks / max memory per child only apply to the process pool (-P process), not the {Pool.ToString().ToLowerInvariant()} pool.");
        }
        if (!Enum.IsDefined(Pool)) throw new FennelConfigurationException($"Worker pool {(int)Pool} is unknown; choose Async, Threads or Process.");
        if (string.IsNullOrWhiteSpace(NodeName)) throw new FennelConfigurationException("Worker node name must not be empty.");
        foreach (var q in Queues)
        {
            if (string.IsNullOrWhiteSpace(q)) throw new FennelConfigurationException("Worker queue names must not be empty.");
        }
    }

    /// <summary>A copy, so a worker's options cannot change under it.</summary>
    public WorkerOptions Clone() => new()
    {
        Queues = [.. Queues], NodeName = NodeName, Concurrency = Concurrency, Pool = Pool, PrefetchMultiplier = PrefetchMultiplier,
        ShutdownTimeout = ShutdownTimeout, LeaseDuration = LeaseDuration, MaxDeliveries = MaxDeliveries, TrackStarted = TrackStarted, TaskEvents = TaskEvents,
        SoftTimeLimit = SoftTimeLimit, TimeLimit = TimeLimit, MaxTasksPerChild = MaxTasksPerChild, MaxMemoryPerChild = MaxMemoryPerChild,
        Mingle = Mingle,
    };
}

/// <summary>Where tasks run.</summary>
public enum WorkerPoolKind
{
    /// <summary>Many concurrent tasks on the shared thread pool; for tasks that await I/O.</summary>
    Async,

    /// <summary>One dedicated thread per slot; for tasks that block.</summary>
    Threads,

    /// <summary>
    /// One child process per slot (Celery's prefork pool): isolation, hard time limits that stop a task by force, max tasks
    /// and max memory per child. The app must run through <c>app.RunAsync(args)</c> (Fennel.Cli), which runs the child loop
    /// in the children.
    /// </summary>
    Process,
}
