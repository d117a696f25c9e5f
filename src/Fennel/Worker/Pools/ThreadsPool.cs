using System.Collections.Concurrent;

namespace Fennel.Worker.Pools;

/// <summary>
/// Runs each handler on one of <c>concurrency</c> dedicated threads, so blocking code (synchronous I/O, CPU work,
/// <c>.Result</c>) never starves the shared thread pool the worker itself needs.
/// </summary>
/// <remarks>
/// .NET cannot stop a thread by force. When the worker gives up on a handler (hard time limit, terminate), the pool
/// starts a replacement thread so it keeps its concurrency; the abandoned thread goes away if its handler ever returns.
/// Resize and restart never interrupt a handler either: a thread above the wanted count (or of an older generation)
/// leaves after its current handler.
/// </remarks>
internal sealed class ThreadsPool : IWorkerPool
{
    private static readonly TimeSpan IdleCheck = TimeSpan.FromMilliseconds(250);
    private readonly BlockingCollection<WorkItem> _work = new();
    private readonly ConcurrentDictionary<Task, WorkItem> _running = new();
    private readonly Lock _gate = new();
    private readonly string _nodeName;
    private int _wanted;
    private int _live; // threads that count towards the concurrency (abandoned ones do not)
    private int _generation;
    private int _started;

    public ThreadsPool(int threads, string nodeName)
    {
        _nodeName = nodeName;
        Resize(threads);
    }

    public string Name => "threads";

    /// <summary>Threads that count towards the concurrency now (for tests and stats).</summary>
    public int LiveThreads
    {
        get { lock (_gate) return _live; }
    }

    public Task<TaskOutcome> RunAsync(PoolWork work, CancellationToken cancellationToken)
    {
        var item = new WorkItem(() => work.InvokeHereAsync(cancellationToken));
        _running[item.Done.Task] = item;
        _work.Add(item);
        return item.Done.Task;
    }

    public void Resize(int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        lock (_gate)
        {
            _wanted = concurrency;
            while (_live < _wanted) StartThread();
        }
    }

    public Task RestartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _generation++;
            _live = 0; // the old threads leave after their current handler
            while (_live < _wanted) StartThread();
        }
        return Task.CompletedTask;
    }

    public void Abandon(Task run, AbandonReason reason)
    {
        if (!_running.TryRemove(run, out var item)) return;
        lock (_gate)
        {
            if (item.Thread is null || item.Abandoned) return;
            item.Abandoned = true;
            if (item.Generation != _generation) return; // restarted meanwhile: it no longer counts
            _live--;
            while (_live < _wanted) StartThread();
        }
    }

    private void StartThread()
    {
        var generation = _generation;
        var thread = new Thread(() => Run(generation)) { IsBackground = true, Name = $"{_nodeName} task thread {++_started}" };
        _live++;
        thread.Start();
    }

    private void Run(int generation)
    {
        try
        {
            while (!_work.IsAddingCompleted || _work.Count > 0)
            {
                if (!ShouldStay(generation)) return;
                if (!_work.TryTake(out var item, IdleCheck)) continue;
                if (!ShouldStay(generation))
                {
                    _work.Add(item); // taken while the pool restarted or shrank: a current thread runs it
                    return;
                }
                item.Generation = generation;
                item.Thread = Thread.CurrentThread;
                try
                {
                    item.Done.SetResult(item.Handler().GetAwaiter().GetResult());
                }
                catch (Exception ex)
                {
                    item.Done.SetException(ex); // handed to the runner, which records the failure
                }
                _running.TryRemove(item.Done.Task, out _);
                lock (_gate)
                {
                    if (item.Abandoned) return; // replaced while it ran
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Disposed while waiting.
        }
    }

    /// <summary>False when this thread is surplus (shrunk) or of an older generation (restarted); it then leaves.</summary>
    private bool ShouldStay(int generation)
    {
        lock (_gate)
        {
            if (generation != _generation) return false;
            if (_live <= _wanted) return true;
            _live--;
            return false;
        }
    }

    public void Dispose() => _work.CompleteAdding();

    private sealed class WorkItem(Func<Task<TaskOutcome>> handler)
    {
        public Func<Task<TaskOutcome>> Handler { get; } = handler;

        public TaskCompletionSource<TaskOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Thread? Thread { get; set; }

        public int Generation { get; set; }

        public bool Abandoned { get; set; }
    }
}
