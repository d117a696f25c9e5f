namespace Fennel.Worker;

// Pool control at run time: grow, shrink and restart without losing a running task. Remote control (pool_grow,
// pool_shrink, pool_restart) and the dashboard call these.
public sealed partial class Worker
{
    private readonly List<(Task Loop, CancellationTokenSource Retire)> _runnerLoops = [];
    private int _concurrency;
    private int _slotsToRemove;

    /// <summary>
    /// Runs <paramref name="n"/> more tasks at once (Celery's <c>pool_grow</c>): more runners, more prefetch, and in the
    /// process pool more children. Returns the new concurrency.
    /// </summary>
    public Task<int> GrowPoolAsync(int n = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        int concurrency;
        lock (_gate)
        {
            EnsureRunning("grow its pool");
            concurrency = _concurrency + n;
            Volatile.Write(ref _concurrency, concurrency);
            _pool.Resize(concurrency);
            StartRunners(n);
            // Permits still owed by an earlier shrink are cancelled first; the rest become new prefetch.
            var slots = n * Options.PrefetchMultiplier;
            var forgiven = 0;
            while (forgiven < slots && TryPayOwedSlot()) forgiven++;
            if (slots > forgiven) _slots.Release(slots - forgiven);
        }
        Log.PoolResized(_logger, Name, "grew", concurrency, Prefetch);
        return Task.FromResult(concurrency);
    }

    /// <summary>
    /// Runs <paramref name="n"/> fewer tasks at once (Celery's <c>pool_shrink</c>), never fewer than one. Running tasks are
    /// never interrupted: a runner over the new size leaves after its task, and the prefetch shrinks as held messages are
    /// settled. Returns the new concurrency.
    /// </summary>
    public Task<int> ShrinkPoolAsync(int n = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        int concurrency;
        List<(Task Loop, CancellationTokenSource Retire)> retiring;
        lock (_gate)
        {
            EnsureRunning("shrink its pool");
            var removed = Math.Min(n, _concurrency - 1);
            if (removed == 0) return Task.FromResult(_concurrency);
            concurrency = _concurrency - removed;
            Volatile.Write(ref _concurrency, concurrency);
            lock (_runnerLoops) retiring = [.. _runnerLoops.Where(r => !r.Retire.IsCancellationRequested).Take(removed)];
            _pool.Resize(concurrency);
            Interlocked.Add(ref _slotsToRemove, removed * Options.PrefetchMultiplier);
            while (Volatile.Read(ref _slotsToRemove) > 0 && _slots.Wait(0)) ReturnSlots(1);
        }
        foreach (var (_, retire) in retiring) retire.Cancel(); // outside the gate: a cancelled wait may continue inline
        Log.PoolResized(_logger, Name, "shrank", concurrency, Prefetch);
        return Task.FromResult(concurrency);
    }

    /// <summary>
    /// Replaces the pool's threads or child processes (Celery's <c>pool_restart</c>): in the process pool new children
    /// load the code deployed now; running tasks finish on the old ones. The async pool has nothing to replace: code
    /// loaded in a process cannot be swapped, so deploy with a warm shutdown and let the supervisor start the new code.
    /// </summary>
    public async Task RestartPoolAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) EnsureRunning("restart its pool");
        await _pool.RestartAsync(cancellationToken).ConfigureAwait(false);
        Log.PoolRestarted(_logger, Name, _pool.Name);
    }

    private void EnsureRunning(string what)
    {
        if (_state != WorkerState.Running) throw new InvalidOperationException($"Worker {Name} is {_state.ToString().ToLowerInvariant()}; it cannot {what}.");
    }

    private void StartRunners(int count)
    {
        lock (_runnerLoops)
        {
            for (var i = 0; i < count; i++)
            {
                var retire = new CancellationTokenSource();
                _runnerLoops.Add((Task.Run(() => RunJobsAsync(retire.Token), CancellationToken.None), retire));
            }
            _runnerLoops.RemoveAll(r => r.Loop.IsCompleted);
        }
    }

    private Task AllRunnersDoneAsync()
    {
        lock (_runnerLoops) return Task.WhenAll(_runnerLoops.Select(r => r.Loop));
    }

    /// <summary>
    /// Gives prefetch permits back, first paying what a shrink still owes (those permits disappear), so the consumer
    /// fetches less as held messages are settled.
    /// </summary>
    private void ReturnSlots(int count)
    {
        while (count > 0 && TryPayOwedSlot()) count--;
        if (count > 0) _slots.Release(count);
    }

    private bool TryPayOwedSlot()
    {
        while (true)
        {
            var owed = Volatile.Read(ref _slotsToRemove);
            if (owed <= 0) return false;
            if (Interlocked.CompareExchange(ref _slotsToRemove, owed - 1, owed) == owed) return true;
        }
    }
}
