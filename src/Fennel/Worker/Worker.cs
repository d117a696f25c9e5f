using Fennel.Configuration;
using Fennel.Results;
using Fennel.Transport;
using Fennel.Worker.Pools;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// A worker node: fetches messages from its queues under a lease, dispatches them, runs them in its pool, stores
/// results and acknowledges them after (late ack). Create one with <c>app.CreateWorker(options)</c>.
/// </summary>
/// <remarks>
/// A task passes through stages that call one way, each a type of its own: <see cref="FetchLoop"/> fetches it and
/// <see cref="HeldMessages"/> holds it under a lease (the one place every stage acks, releases, dead-letters and renews
/// through); <see cref="Dispatcher"/> checks it (malformed, revoked, lost too often, unknown, badly called, not yet due,
/// over its rate limit: <see cref="RateLimits"/>); <see cref="Runners"/> take it and run it through
/// <see cref="TaskRunner"/>, which hands it to the pool with a <see cref="TaskInvocation"/>; <see cref="Settler"/>
/// stores its outcome, publishes a retry, acknowledges it and sends its events (<see cref="TaskEvents"/>). This type
/// keeps the life: start and warm and cold shutdown (this file), the revokes kept in the broker
/// (<c>Worker.Revokes.cs</c>), pool control (<c>Worker.Pool.cs</c>), queues (<c>Worker.Queues.cs</c>), remote control
/// (<c>Worker.Control.cs</c>) and the worker's own events (<c>Worker.Events.cs</c>).
/// </remarks>
public sealed partial class Worker : IAsyncDisposable
{
    private readonly FennelApp _app;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopFetching = new();
    private readonly CancellationTokenSource _stopRenewing = new();
    private readonly CancellationTokenSource _cold = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // A stop asked for while the worker is still starting (a SIGTERM during mingle, say) cuts the start short, waits for
    // it to end, then stops what did start.
    private readonly CancellationTokenSource _abortStart = new();
    private readonly TaskCompletionSource _startEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private ITransport _transport = null!;
    private IWorkerPool _pool = null!;
    private readonly RateLimits _rateLimits;
    private readonly RevokedTasks _revoked;
    private readonly TimeLimitOverrides _timeLimits = new();
    // The stages, made when the worker starts (they need the broker and the pool).
    private HeldMessages? _held;
    private Settler? _settler;
    private Dispatcher? _dispatcher;
    private Runners? _runners;
    private FetchLoop? _fetchLoop;
    private Task _consumer = Task.CompletedTask;
    private Task _leaseKeeper = Task.CompletedTask;
    private WorkerState _state = WorkerState.Created;
    private int _concurrency;

    internal Worker(FennelApp app, WorkerOptions options)
    {
        _app = app;
        Options = options;
        _time = app.TimeProvider;
        Name = NodeNames.Expand(options.NodeName);
        _queues = options.Queues.Count > 0 ? [.. options.Queues.Distinct(StringComparer.Ordinal)] : [app.Options.DefaultQueue];
        _concurrency = options.Concurrency;
        _logger = app.LoggerFactory.CreateLogger("Fennel.Worker");
        _taskEvents = new TaskEvents(Name, _time, options.TaskEvents);
        _rateLimits = new RateLimits(app, _time, _logger, Name, _stopRenewing.Token);
        _revoked = new RevokedTasks(RevokedTasks.DefaultCapacity, _time);
    }

    /// <summary>The node name, e.g. <c>celery@customers.host</c>.</summary>
    public string Name { get; }

    /// <summary>The options it runs with (a copy: later changes do not affect it).</summary>
    public WorkerOptions Options { get; }

    /// <summary>How many tasks run at once now: <see cref="WorkerOptions.Concurrency"/>, or what a pool grow / shrink made it.</summary>
    public int Concurrency => Volatile.Read(ref _concurrency);

    /// <summary>How many messages it holds at most: concurrency × prefetch multiplier.</summary>
    public int Prefetch => Concurrency * Options.PrefetchMultiplier;

    /// <summary>Where it is in its life.</summary>
    public WorkerState State
    {
        get { lock (_gate) return _state; }
    }

    /// <summary>Tasks that ran to an outcome (success, failure, retry) on this worker.</summary>
    public long Processed => _settler?.Processed ?? 0;

    /// <summary>Tasks that ended in FAILURE on this worker.</summary>
    public long Failed => _settler?.Failed ?? 0;

    /// <summary>Tasks running now.</summary>
    public int Running => _runners?.Running ?? 0;

    /// <summary>
    /// When the fetch loop last went round (UTC), or null before it first did. While the worker runs, the loop goes round
    /// at least about once a second: after each fetch (a fetch waits at most a second for messages), while it waits for a
    /// free prefetch slot, and while it waits to retry an unreachable broker. A value older than a few seconds means the
    /// loop is stuck (a broker call that never returns) or has ended: what liveness checks and the systemd watchdog read.
    /// </summary>
    public DateTimeOffset? LastFetchLoopActivity => _fetchLoop?.LastActivity;

    /// <summary>
    /// What process pool children run instead of this app again (<c>dotnet app.dll</c> with the same arguments): for tests,
    /// whose host process cannot be a child.
    /// </summary>
    internal (string FileName, IReadOnlyList<string> Arguments)? ProcessPoolCommand { get; set; }

    /// <summary>Completes when the worker has stopped.</summary>
    public Task Completion => _stopped.Task;

    /// <summary>True when the last stop was cold: running tasks were interrupted and returned to the broker.</summary>
    public bool StoppedCold { get; private set; }

    /// <summary>Connects to the broker and starts consuming. Throws when the broker cannot be reached or configured.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_state != WorkerState.Created) throw new InvalidOperationException($"Worker {Name} was already started.");
            _state = WorkerState.Starting;
        }
        try
        {
            await StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _startEnded.TrySetResult();
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        _transport = _app.Transport;
        using var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abortStart.Token);
        try
        {
            _rateLimits.Prepare(_transport);
            foreach (var queue in Queues) await _transport.DeclareQueueAsync(queue, starting.Token).ConfigureAwait(false);
            await LoadRevokesAsync(starting.Token).ConfigureAwait(false);
            await MingleAsync(starting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abortStart.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Stopped before it consumed anything: nothing to give back, nothing to wait for.
            Log.StoppedWhileStarting(_logger, Name);
            lock (_gate) _state = WorkerState.Stopped;
            _stopped.TrySetResult();
            return;
        }
        catch
        {
            // Never started: nothing to stop later.
            lock (_gate) _state = WorkerState.Stopped;
            _stopped.TrySetResult();
            throw;
        }
        try
        {
            _pool = await CreatePoolAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_gate) _state = WorkerState.Stopped;
            _stopped.TrySetResult();
            throw;
        }
        BuildStages(_app.Results);
        _runners!.Start(Options.Concurrency);
        _consumer = Task.Run(() => _fetchLoop!.RunAsync(_stopFetching.Token), CancellationToken.None);
        _leaseKeeper = Task.Run(() => _held!.RenewLeasesAsync(_stopRenewing.Token), CancellationToken.None);
        StartWatchingRevokes();
        await StartControlAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate) _state = WorkerState.Running;
        StartEvents();
        Log.WorkerReady(_logger, Name, string.Join(", ", Queues), _pool.Name, Concurrency, Prefetch,
            BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl));
    }

    /// <summary>The stages a task passes through, in that order (each calls only those made before it).</summary>
    private void BuildStages(IResultStore results)
    {
        var held = new HeldMessages(_transport, Prefetch, Options.LeaseDuration, _time, _logger, Name);
        var settler = new Settler(held, _app.Publisher, results, _taskEvents, _pool, Options, _app.Options.ResultExpires, _time, _logger, Name);
        var dispatcher = new Dispatcher(held, settler, _rateLimits, _revoked, _taskEvents, _app.Tasks, _timeLimits, _transport.Capabilities,
            Options.MaxDeliveries, _time, _logger, Name);
        var runner = new TaskRunner(_app.Services, _pool, Name, _time, Options.SoftTimeLimit, Options.TimeLimit);
        var runners = new Runners(dispatcher.Jobs, runner, settler, held, _revoked, Options.MaxDeliveries, _stopFetching.Token, _cold.Token, _logger);
        _fetchLoop = new FetchLoop(_transport, held, dispatcher, runners, () => Queues, Options, BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl),
            _time, _logger, Name);
        (_held, _settler, _dispatcher, _runners) = (held, settler, dispatcher, runners);
    }

    /// <summary>When a stop comes while the worker is starting: cuts the start short and waits until it has ended.</summary>
    private async Task WaitForStartAsync()
    {
        lock (_gate)
        {
            if (_state != WorkerState.Starting) return;
        }
        await _abortStart.CancelAsync().ConfigureAwait(false);
        await _startEnded.Task.ConfigureAwait(false);
    }

    private async Task<IWorkerPool> CreatePoolAsync(CancellationToken cancellationToken)
    {
        switch (Options.Pool)
        {
            case WorkerPoolKind.Threads:
                return new ThreadsPool(Options.Concurrency, Name);
            case WorkerPoolKind.Process:
                var pool = new ProcessPool(Options.Concurrency, Name, Options.MaxTasksPerChild, Options.MaxMemoryPerChild,
                    _app.LoggerFactory.CreateLogger("Fennel.Worker.ProcessPool"), _time, ProcessPoolCommand);
                try
                {
                    await pool.StartAsync(cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    pool.Dispose();
                    throw;
                }
                return pool;
            default:
                return new AsyncPool();
        }
    }

    /// <summary>
    /// Warm shutdown: stop fetching, give unstarted messages back to the broker at once, let running tasks finish within
    /// <see cref="WorkerOptions.ShutdownTimeout"/>, then stop. Past the timeout, or when <paramref name="cancellationToken"/>
    /// fires, it goes cold (see <see cref="StopColdAsync"/>).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await WaitForStartAsync().ConfigureAwait(false);
        if (!BeginStop()) { await Completion.ConfigureAwait(false); return; }
        await _stopFetching.CancelAsync().ConfigureAwait(false);
        await _consumer.ConfigureAwait(false);
        _dispatcher!.Complete();
        var returned = await _dispatcher.ReturnUnstartedAsync().ConfigureAwait(false);
        Log.WarmShutdown(_logger, Name, returned, Options.ShutdownTimeout.TotalSeconds, Running);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.ShutdownTimeout);
        try
        {
            await _runners!.AllDoneAsync().WaitAsync(timeout.Token).ConfigureAwait(false);
            await _held!.AcksDoneAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (!cancellationToken.IsCancellationRequested) Log.ShutdownTimedOut(_logger, Name, Options.ShutdownTimeout.TotalSeconds);
            await GoColdAsync().ConfigureAwait(false);
        }
        await FinishAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Cold shutdown: stop now. Running tasks are cancelled and nothing that did not finish is acknowledged: every held
    /// message goes back to the broker (or returns by itself when its lease lapses).
    /// </summary>
    public async Task StopColdAsync()
    {
        await WaitForStartAsync().ConfigureAwait(false);
        var first = BeginStop();
        if (!first && State == WorkerState.Stopped)
        {
            // Never started, or already stopped: nothing runs that could be interrupted.
            await Completion.ConfigureAwait(false);
            return;
        }
        await _stopFetching.CancelAsync().ConfigureAwait(false);
        _dispatcher!.Complete();
        await GoColdAsync().ConfigureAwait(false);
        if (first)
        {
            await _consumer.ConfigureAwait(false);
            await FinishAsync().ConfigureAwait(false);
        }
        else
        {
            await Completion.ConfigureAwait(false);
        }
    }

    /// <summary>Stops warm if still running.</summary>
    public async ValueTask DisposeAsync()
    {
        if (State is WorkerState.Running or WorkerState.Starting) await StopAsync().ConfigureAwait(false);
        // The token sources and the prefetch slots are not disposed: after a cold stop, handlers that ignored their
        // token may still finish and touch them. They hold no unmanaged resources (no wait handles are created).
    }

    private bool BeginStop()
    {
        lock (_gate)
        {
            if (_state is WorkerState.Stopping or WorkerState.Stopped) return false;
            if (_state == WorkerState.Created)
            {
                _state = WorkerState.Stopped;
                _stopped.TrySetResult();
                return false;
            }
            _state = WorkerState.Stopping;
            return true;
        }
    }

    private async Task GoColdAsync()
    {
        if (_cold.IsCancellationRequested) return;
        StoppedCold = true;
        Log.ColdShutdown(_logger, Name, Running);
        await _cold.CancelAsync().ConfigureAwait(false);
        await _dispatcher!.ReturnUnstartedAsync().ConfigureAwait(false);
        // Tasks that finished have their acks in flight: let them land (briefly), so they are not given back and run again.
        using (var acks = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            try
            {
                await _held!.AcksDoneAsync(acks.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Still in flight: what is released now may run again (cold shutdown never promises otherwise).
            }
        }
        // Everything still held (running tasks included) goes back unacknowledged.
        await _held!.ReleaseAllAsync("return on cold shutdown").ConfigureAwait(false);
    }

    private async Task FinishAsync()
    {
        await StopControlAsync().ConfigureAwait(false);
        await _stopRenewing.CancelAsync().ConfigureAwait(false);
        await _leaseKeeper.ConfigureAwait(false);
        await _revokeWatcher.ConfigureAwait(false);
        await StopEventsAsync().ConfigureAwait(false);
        _pool.Dispose();
        lock (_gate) _state = WorkerState.Stopped;
        Log.WorkerStopped(_logger, Name, Processed);
        _stopped.TrySetResult();
    }
}

/// <summary>Where a worker is in its life.</summary>
public enum WorkerState
{
    /// <summary>Created, not started.</summary>
    Created,

    /// <summary>Connecting.</summary>
    Starting,

    /// <summary>Consuming.</summary>
    Running,

    /// <summary>Shutting down.</summary>
    Stopping,

    /// <summary>Stopped.</summary>
    Stopped,
}
