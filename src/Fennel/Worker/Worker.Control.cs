using System.Text.Json.Nodes;
using Fennel.Configuration;
using Fennel.Control;
using Fennel.Python;
using Fennel.Tasks;
using Fennel.Transport;
using Fennel.Worker.Pools;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

// Remote control: the worker's pidbox (ControlServer) from start to stop, mingle at start-up, and what the commands need
// from the worker (stats, revokes, time limits, shutdown).
public sealed partial class Worker
{
    /// <summary>How long mingle waits for its neighbours' replies, as Celery (1 s).</summary>
    internal TimeSpan MingleTimeout { get; set; } = TimeSpan.FromSeconds(1);

    private ControlServer? _control;
    private DateTimeOffset _startedAt;

    /// <summary>
    /// What a remote <c>shutdown</c> does; by default a warm <see cref="StopAsync"/>. The worker command sets it to what
    /// SIGTERM does, so the process stops exactly as on a signal.
    /// </summary>
    internal Action? ShutdownRequested { get; set; }

    internal FennelApp App => _app;

    internal DateTimeOffset Now => _time.GetUtcNow();

    internal TimeSpan Uptime => _startedAt == default ? TimeSpan.Zero : _time.GetUtcNow() - _startedAt;

    internal string PoolName => _pool?.Name ?? Options.Pool.ToString().ToLowerInvariant();

    /// <summary>The pid a task runs in: the worker's own for in-process pools; null for the process pool (a child's, not tracked per task).</summary>
    internal int? RunnerPid => _pool is ProcessPool ? null : Environment.ProcessId;

    internal IReadOnlyList<int> PoolProcessIds() => _pool is ProcessPool process ? process.ChildPids : [Environment.ProcessId];

    /// <summary>Tasks started on this worker since it started, by name (<c>stats</c>' <c>total</c>).</summary>
    internal IReadOnlyDictionary<string, long> TaskTotals() => _runners?.Totals() ?? new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>The requests held now, for the <c>active</c>, <c>reserved</c> and <c>scheduled</c> inspections.</summary>
    internal IReadOnlyList<TrackedRequest> TrackedRequests() => _held?.Requests() ?? [];

    /// <summary>
    /// Stops the running task <paramref name="taskId"/> (revoke with terminate): it ends REVOKED <c>terminated</c> and its
    /// message is acknowledged. In the process pool its child is killed; elsewhere its token fires and the worker stops
    /// waiting for it. False when no task of that id runs here.
    /// </summary>
    public bool TryTerminate(string taskId) => _runners?.TryTerminate(taskId) ?? false;

    /// <summary>
    /// Changes the rate limit of <paramref name="taskName"/> on this worker (the remote-control <c>rate_limit</c> command):
    /// <c>"100/s"</c>, <c>"10/m"</c>, <c>"500/h"</c> or a number per second; null or <c>"0"</c> removes it. Messages
    /// already waiting for their turn follow the new rate within a second. The scope (this worker or the cluster) stays
    /// the task's; for a cluster-wide limit, set the same rate on every worker.
    /// </summary>
    /// <exception cref="ArgumentException">No such task is registered, or the rate is not one.</exception>
    public void SetRateLimit(string taskName, string? rate) => _rateLimits.Set(taskName, rate);

    /// <summary>The rate limit of <paramref name="taskName"/> in force on this worker; null for none.</summary>
    public RateLimit? GetRateLimit(string taskName) => _rateLimits.Get(taskName);

    /// <summary>Starts the pidbox, or says why there is none. Called once the worker is ready to consume.</summary>
    private async Task StartControlAsync(CancellationToken cancellationToken)
    {
        _startedAt = _time.GetUtcNow();
        if (Broadcast() is not { } broadcast) return;
        try
        {
            _control = await ControlServer.StartAsync(this, broadcast, _app.Clock, _time, _app.LoggerFactory.CreateLogger("Fennel.Control"), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ControlSubscribeFailed(_logger, Name, ex);
        }
    }

    private async Task StopControlAsync()
    {
        if (_control is { } control)
        {
            _control = null;
            await control.DisposeAsync().ConfigureAwait(false);
        }
    }

    private IBroadcastTransport? Broadcast()
    {
        if (_transport is IBroadcastTransport broadcast) return broadcast;
        Log.ControlUnavailable(_logger, Name, BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl));
        return null;
    }

    /// <summary>
    /// Mingle (Celery's start-up sync): asks the running workers <c>hello</c> with this worker's revokes and merges theirs,
    /// so a task revoked while this worker was down is skipped. Waits <see cref="MingleTimeout"/>; never fails the start.
    /// </summary>
    private async Task MingleAsync(CancellationToken cancellationToken)
    {
        if (!Options.Mingle || _transport is not IBroadcastTransport) return;
        Log.MingleSearching(_logger, Name);
        IReadOnlyList<ControlReply> replies;
        try
        {
            replies = await _app.Client.Control.RequestAsync("hello",
                new JsonObject { ["from_node"] = Name, ["revoked"] = RevokedAsCelerySends() },
                new ControlRequestOptions { Timeout = MingleTimeout }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.MingleFailed(_logger, Name, ex);
            return;
        }
        var nodes = 0;
        var merged = 0;
        foreach (var reply in replies)
        {
            if (reply.Node == Name || reply.Payload is not JsonObject payload) continue;
            nodes++;
            try
            {
                if (payload["clock"] is JsonValue clock && clock.TryGetValue(out long value)) _app.Clock.Adjust(value);
                if (payload["revoked"] is JsonObject revoked) merged += MergeRevokes(revoked);
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            {
                Log.MingleBadReply(_logger, Name, reply.Node, ex.Message);
            }
        }
        if (nodes == 0) Log.MingleAlone(_logger, Name);
        else Log.MingleSynced(_logger, Name, nodes, merged);
    }

    /// <summary>The revoked set as Celery's <c>LimitedSet._data</c>: <c>{task id: time revoked (Unix seconds, a float)}</c>.</summary>
    internal JsonObject RevokedAsCelerySends()
    {
        var revoked = new JsonObject();
        foreach (var (id, expiresAt) in _revoked.Snapshot())
        {
            revoked[id] = PythonJson.Float((expiresAt - _app.Options.RevokeExpires).ToUnixTimeMilliseconds() / 1000.0);
        }
        return revoked;
    }

    /// <summary>Merges revokes as Celery sends them (<c>{id: time revoked}</c>); each holds for <see cref="FennelOptions.RevokeExpires"/> from then. Returns how many are new.</summary>
    internal int MergeRevokes(JsonObject revoked)
    {
        var added = 0;
        foreach (var (id, value) in revoked)
        {
            var at = value switch
            {
                JsonValue v when v.TryGetValue(out double d) => d,
                JsonArray { Count: > 0 } a when a[0] is JsonValue v && v.TryGetValue(out double d) => d, // ._data entries sent as lists
                _ => throw new FormatException($"the revoke of {id} has no timestamp"),
            };
            var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(at * 1000)) + _app.Options.RevokeExpires;
            if (!_revoked.Contains(id)) added++;
            if (_revoked.Add(id, expiresAt) is { } forgotten) Log.RevokeForgottenEarly(_logger, Name, _revoked.Capacity, forgotten);
        }
        return added;
    }

    internal IReadOnlyList<(string Id, DateTimeOffset ExpiresAt)> RevokedSnapshot() => _revoked.Snapshot();

    /// <summary>The <c>revoke</c> command: revoked here for <see cref="FennelOptions.RevokeExpires"/>; with terminate, running ones stop. Returns those terminated.</summary>
    internal IReadOnlyList<string> RevokeFromControl(IReadOnlyList<string> taskIds, bool terminate)
    {
        var expiresAt = _time.GetUtcNow() + _app.Options.RevokeExpires;
        var terminated = new List<string>();
        foreach (var id in taskIds)
        {
            if (_revoked.Add(id, expiresAt) is { } forgotten) Log.RevokeForgottenEarly(_logger, Name, _revoked.Capacity, forgotten);
            if (terminate && TryTerminate(id))
            {
                Log.TerminatingRevokedTask(_logger, id);
                terminated.Add(id);
            }
        }
        return terminated;
    }

    /// <summary>
    /// The <c>time_limit</c> command: tasks of <paramref name="taskName"/> started from now on get these limits (null =
    /// none of its own: the worker's default applies); a limit set per call in the message still wins.
    /// </summary>
    internal void SetTimeLimits(string taskName, TimeSpan? soft, TimeSpan? hard)
    {
        if (!_app.Tasks.TryGet(taskName, out var task)) throw new ArgumentException($"No task named '{taskName}' is registered on {Name}.", nameof(taskName));
        _timeLimits.Set(task, soft, hard);
    }

    internal (TimeSpan? Soft, TimeSpan? Hard) TimeLimitsOf(TaskDefinition task)
    {
        var options = _timeLimits.Apply(task).Options;
        return (options.SoftTimeLimit, options.TimeLimit);
    }

    /// <summary>The <c>pool_restart</c> command: the restart runs on, so the pidbox keeps answering meanwhile.</summary>
    internal void RestartPoolInBackground() => _ = Task.Run(async () =>
    {
        try
        {
            await RestartPoolAsync(_stopRenewing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RemotePoolRestartFailed(_logger, Name, ex);
        }
        catch (OperationCanceledException)
        {
            // The worker stopped meanwhile.
        }
    });

    /// <summary>The <c>shutdown</c> command: a warm shutdown, as SIGTERM, started without waiting for it.</summary>
    internal void RequestShutdown()
    {
        if (ShutdownRequested is { } requested) requested();
        else _ = Task.Run(() => StopAsync(CancellationToken.None));
    }
}
