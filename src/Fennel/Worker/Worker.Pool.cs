namespace Fennel.Worker;

// Pool control at run time: grow, shrink and restart without losing a running task. Remote control (pool_grow,
// pool_shrink, pool_restart) and the dashboard call these.
public sealed partial class Worker
{
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
            _runners!.Start(n);
            _held!.Grow(n * Options.PrefetchMultiplier);
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
        List<CancellationTokenSource> retiring;
        lock (_gate)
        {
            EnsureRunning("shrink its pool");
            var removed = Math.Min(n, _concurrency - 1);
            if (removed == 0) return Task.FromResult(_concurrency);
            concurrency = _concurrency - removed;
            Volatile.Write(ref _concurrency, concurrency);
            retiring = _runners!.PickRetiring(removed);
            _pool.Resize(concurrency);
            _held!.Shrink(removed * Options.PrefetchMultiplier);
        }
        foreach (var retire in retiring) retire.Cancel(); // outside the gate: a cancelled wait may continue inline
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
}
