using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker.Pools;

/// <summary>
/// Runs each task in one of <c>concurrency</c> child processes of the same app (Celery's prefork pool): a task can be
/// stopped by force (hard time limit, terminate: the child is killed and replaced), a crash or a leak takes only its child
/// down, and children are recycled after <c>--max-tasks-per-child</c> tasks or past <c>--max-memory-per-child</c> KiB.
/// The parent keeps fetching, leasing, storing results and acknowledging; children only run handlers
/// (a <see cref="TaskInvocation"/> in <see cref="ProcessPoolChild"/>), from the message the dispatcher decoded.
/// </summary>
/// <remarks>
/// A child that dies while running a task fails the run with <see cref="WorkerLostException"/>; the worker runs the task
/// again on another child (its message stays leased) up to the delivery limit. Children never outlive the parent: they
/// exit at the end of file on their socket, and on Linux the kernel kills them when the parent dies. Resize and restart
/// never interrupt a task: a child above the wanted count, or of an older generation, leaves after its current task.
/// </remarks>
internal sealed class ProcessPool : IWorkerPool
{
    /// <summary>The reason a child killed through a run's token gets until a more precise one (hard limit, terminate) arrives.</summary>
    public const string StoppedReason = "its task was stopped (cold shutdown)";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5);
    private readonly ChildLauncher _launcher;
    private readonly ILogger _logger;
    private readonly string _nodeName;
    private readonly int? _maxTasksPerChild;
    private readonly long? _maxMemoryKiB;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly HashSet<PoolChild> _children = [];
    private readonly Queue<PoolChild> _idle = new();
    private readonly Queue<TaskCompletionSource<PoolChild>> _waiters = new();
    private readonly ConcurrentDictionary<Task, PoolRun> _runs = new();
    private readonly CancellationTokenSource _disposing = new();
    private int _wanted;
    private int _live; // children that count towards the concurrency: starting, idle or busy, not leaving
    private int _generation;
    private int _startFailures;
    private bool _retryScheduled;

    public ProcessPool(int concurrency, string nodeName, int? maxTasksPerChild, long? maxMemoryKiB, ILogger logger, TimeProvider time,
        (string FileName, IReadOnlyList<string> Arguments)? command = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        _nodeName = nodeName;
        _maxTasksPerChild = maxTasksPerChild;
        _maxMemoryKiB = maxMemoryKiB;
        _logger = logger;
        _time = time;
        _launcher = new ChildLauncher(command);
        _wanted = concurrency;
    }

    public string Name => "process";

    /// <summary>Children that count towards the concurrency now (for tests and stats).</summary>
    public int LiveChildren
    {
        get { lock (_gate) return _live; }
    }

    /// <summary>The process ids of the children alive now.</summary>
    public IReadOnlyList<int> ChildPids
    {
        get { lock (_gate) return [.. _children.Where(c => c.State is ChildState.Idle or ChildState.Busy).Select(c => c.Pid)]; }
    }

    /// <summary>Children running a task now.</summary>
    public int BusyChildren
    {
        get { lock (_gate) return _children.Count(c => c.State == ChildState.Busy); }
    }

    /// <summary>Starts the first children and waits until they are ready; throws (with the child's story) when one cannot start.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        List<PoolChild> first;
        lock (_gate)
        {
            first = [];
            while (_live < _wanted) first.Add(StartChild("initial", retryOnFailure: false));
        }
        try
        {
            await Task.WhenAll(first.Select(c => c.Ready.Task)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (FennelException ex)
        {
            // Most often the app does not go through app.RunAsync(args); a configuration matter either way (exit 78).
            throw new FennelConfigurationException("The process pool could not start its children: " + ex.Message);
        }
    }

    public Task<TaskOutcome> RunAsync(PoolWork work, CancellationToken cancellationToken)
    {
        var run = new PoolRun(work);
        var task = RunCoreAsync(run, cancellationToken);
        _runs[task] = run;
        _ = task.ContinueWith(t => _runs.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    private async Task<TaskOutcome> RunCoreAsync(PoolRun run, CancellationToken cancellationToken)
    {
        var child = await TakeChildAsync(cancellationToken).ConfigureAwait(false);
        var job = run.Work.Job;
        lock (_gate)
        {
            run.Child = child;
            child.Run = run;
            child.Task = (job.Message.DisplayName, job.Message.Id);
        }
        using var stop = cancellationToken.Register(() => Kill(run, StoppedReason));
        var request = ProcessPoolProtocol.Run(new ProcessPoolProtocol.RunRequest(job.Delivery.Queue, job.Delivery.DeliveryCount, _nodeName,
            run.Work.SoftTimeLimit, job.Message));
        run.Work.Started();
        System.Text.Json.Nodes.JsonObject reply;
        try
        {
            reply = await child.RunAsync(request).ConfigureAwait(false);
        }
        catch (ChildLostException)
        {
            await child.Gone.ConfigureAwait(false);
            if (child.KilledByPool) throw new OperationCanceledException($"The pool killed child {child.Pid}: {child.EndReason}.", cancellationToken);
            var exit = await child.WaitForExitAsync(ExitWait).ConfigureAwait(false);
            throw new WorkerLostException(child.ProtocolError is { } error
                ? $"child process {child.Pid} broke the pool protocol: {error}"
                : $"child process {child.Pid} {ProcessPoolProtocol.DescribeExit(exit)} while running the task");
        }
        TaskOutcome outcome;
        long rss;
        try
        {
            (outcome, rss) = ProcessPoolProtocol.ReadOutcome(reply, job.Message, _time);
        }
        catch (InvalidDataException ex)
        {
            child.Kill("broke the protocol", whileRunning: false);
            throw new WorkerLostException($"child process {child.Pid} sent an answer that cannot be read: {ex.Message}");
        }
        Finished(child, rss);
        return outcome;
    }

    /// <summary>After a task: back to idle, or retired (max tasks, max memory, shrunk, restarted) and replaced.</summary>
    private void Finished(PoolChild child, long residentBytes)
    {
        string? retire = null;
        lock (_gate)
        {
            child.TasksRun++;
            child.Task = null;
            child.Run = null; // from now on a late kill for that run (hard limit, cold) leaves this child alone
            if (_maxTasksPerChild is { } maxTasks && child.TasksRun >= maxTasks) retire = $"max tasks per child ({maxTasks}) reached";
            else if (_maxMemoryKiB is { } maxKiB && residentBytes / 1024 > maxKiB)
            {
                retire = string.Create(CultureInfo.InvariantCulture, $"max memory per child exceeded ({residentBytes / 1024} KiB resident > {maxKiB} KiB)");
            }
            else if (!child.Counted) retire = "the pool was restarted";
            else if (_live > _wanted) retire = "the pool shrank";
            if (retire is null)
            {
                MakeIdle(child);
                return;
            }
            StopCounting(child);
            StartMissing("replacing child " + child.Pid.ToString(CultureInfo.InvariantCulture));
        }
        child.Close(retire);
    }

    private async Task<PoolChild> TakeChildAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<PoolChild> waiter;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
            while (_idle.TryDequeue(out var idle))
            {
                if (idle.State != ChildState.Idle || !idle.Counted) continue;
                idle.State = ChildState.Busy;
                return idle;
            }
            waiter = new TaskCompletionSource<PoolChild>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }
        using (cancellationToken.Register(() => waiter.TrySetCanceled(cancellationToken)))
        {
            try
            {
                return await waiter.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Handed a child just as it was cancelled? Give it back.
                if (waiter.Task.IsCompletedSuccessfully) lock (_gate) MakeIdle(waiter.Task.Result);
                throw;
            }
        }
    }

    /// <summary>Under the lock: a ready child goes to a waiting run, else to the idle queue.</summary>
    private void MakeIdle(PoolChild child)
    {
        if (!child.Counted || child.State == ChildState.Gone)
        {
            return;
        }
        while (_waiters.TryDequeue(out var waiter))
        {
            child.State = ChildState.Busy;
            if (waiter.TrySetResult(child)) return;
        }
        child.State = ChildState.Idle;
        _idle.Enqueue(child);
    }

    /// <summary>Under the lock: it no longer counts towards the concurrency.</summary>
    private void StopCounting(PoolChild child)
    {
        if (!child.Counted) return;
        child.Counted = false;
        _live--;
    }

    /// <summary>Under the lock: starts children until the pool has as many as wanted.</summary>
    private void StartMissing(string why)
    {
        if (_disposing.IsCancellationRequested || _retryScheduled) return;
        while (_live < _wanted) StartChild(why, retryOnFailure: true);
    }

    /// <summary>Under the lock: starts one child; it joins the idle queue once it said it is ready.</summary>
    private PoolChild StartChild(string why, bool retryOnFailure)
    {
        // The lowest index no counted child holds: a replacement takes the index of the child it replaces, as in Celery.
        var index = 1;
        while (_children.Any(c => c.Counted && c.Index == index)) index++;
        var child = new PoolChild(_generation, why, index);
        _children.Add(child);
        _live++;
        _ = LaunchAsync(child, retryOnFailure);
        return child;
    }

    private async Task LaunchAsync(PoolChild child, bool retryOnFailure)
    {
        Process process;
        Socket socket;
        try
        {
            (process, socket) = await _launcher.LaunchAsync(child.Index, StartTimeout, _disposing.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            TimeSpan delay;
            lock (_gate)
            {
                StopCounting(child);
                child.State = ChildState.Gone;
                _children.Remove(child);
                _startFailures++;
                delay = TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(_startFailures - 1, 5))));
                if (retryOnFailure && !_disposing.IsCancellationRequested && !_retryScheduled)
                {
                    _retryScheduled = true;
                    _ = RetryStartAsync(delay);
                }
            }
            if (!_disposing.IsCancellationRequested) Log.ChildStartFailed(_logger, _nodeName, ex.Message, delay.TotalSeconds);
            child.Ready.TrySetException(ex is FennelException ? ex : new FennelException("A process pool child could not start: " + ex.Message, ex));
            return;
        }
        child.Attach(process, socket);
        _ = WatchAsync(child);
        Log.ChildStarted(_logger, _nodeName, child.Pid, child.Why);
        lock (_gate)
        {
            _startFailures = 0;
            if (_disposing.IsCancellationRequested) child.Close("the pool is shutting down");
            else if (!child.Counted) child.Close("the pool was restarted");
            else MakeIdle(child);
        }
        child.Ready.TrySetResult();
    }

    private async Task RetryStartAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _disposing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        lock (_gate)
        {
            _retryScheduled = false;
            StartMissing("retrying after a failed start");
        }
    }

    /// <summary>When a child's connection ends: forget it, replace it, and log how it ended.</summary>
    private async Task WatchAsync(PoolChild child)
    {
        await child.Gone.ConfigureAwait(false);
        (string Name, string Id)? task;
        lock (_gate)
        {
            task = child.Task;
            var wasCounted = child.Counted;
            StopCounting(child);
            child.State = ChildState.Gone;
            if (wasCounted) StartMissing("replacing child " + child.Pid.ToString(CultureInfo.InvariantCulture));
        }
        var exit = ProcessPoolProtocol.DescribeExit(await child.WaitForExitAsync(ExitWait).ConfigureAwait(false));
        lock (_gate) _children.Remove(child); // only now: Dispose waits for every child's exit, dying ones included
        if (child.ProtocolError is { } error) Log.ChildProtocolError(_logger, _nodeName, child.Pid, error);
        if (child.KilledByPool && task is { } killed) Log.ChildKilled(_logger, _nodeName, child.Pid, child.EndReason ?? StoppedReason, killed.Name, killed.Id);
        else if (child.EndReason is { } why) Log.ChildExited(_logger, _nodeName, child.Pid, exit, child.TasksRun, why);
        else Log.ChildCrashed(_logger, _nodeName, child.Pid, exit, task is { } lost ? $"while running task {lost.Name}[{lost.Id}]" : "while idle");
    }

    public void Resize(int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var surplus = new List<PoolChild>();
        lock (_gate)
        {
            _wanted = concurrency;
            while (_live > _wanted && _idle.TryDequeue(out var idle))
            {
                if (idle.State != ChildState.Idle || !idle.Counted) continue;
                StopCounting(idle);
                surplus.Add(idle);
            }
            StartMissing("the pool grew");
        }
        foreach (var child in surplus) child.Close("the pool shrank");
    }

    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        var old = new List<PoolChild>();
        var fresh = new List<PoolChild>();
        lock (_gate)
        {
            _generation++;
            foreach (var child in _children.Where(c => c.Counted && c.Generation < _generation).ToList())
            {
                StopCounting(child); // a busy one leaves after its task (Finished), an idle one now
                if (child.State == ChildState.Idle) old.Add(child);
            }
            while (_live < _wanted) fresh.Add(StartChild("the pool was restarted", retryOnFailure: true));
        }
        foreach (var child in old) child.Close("the pool was restarted");
        await Task.WhenAll(fresh.Select(c => c.Ready.Task)).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Abandon(Task run, AbandonReason reason)
    {
        if (!_runs.TryGetValue(run, out var pooled)) return;
        Kill(pooled, reason == AbandonReason.TimeLimit ? "killed at the hard time limit" : "its task was terminated (revoke)");
    }

    /// <summary>Kills the child running <paramref name="run"/>, if it still runs it (not one that finished and took another task since).</summary>
    private void Kill(PoolRun run, string reason)
    {
        lock (_gate)
        {
            if (run.Child is { } child && ReferenceEquals(child.Run, run)) child.Kill(reason, whileRunning: true);
        }
    }

    /// <summary>Closes every child (each exits at the end of file; one that does not within a few seconds is killed).</summary>
    public void Dispose()
    {
        List<PoolChild> children;
        lock (_gate)
        {
            if (_disposing.IsCancellationRequested) return;
            _disposing.Cancel();
            children = [.. _children];
            while (_waiters.TryDequeue(out var waiter)) waiter.TrySetException(new ObjectDisposedException(nameof(ProcessPool)));
        }
        foreach (var child in children) child.Close("the worker stopped");
        // Each child exits at the end of file; WaitForExitAsync kills one that does not within ExitWait, and never throws.
        Task.WhenAll(children.Select(c => c.WaitForExitAsync(ExitWait))).Wait();
        _launcher.Dispose();
    }

    private sealed class PoolRun(PoolWork work)
    {
        public PoolWork Work { get; } = work;

        public PoolChild? Child { get; set; }
    }
}
