using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Routing;
using Fennel.Tasks;
using Fennel.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Calling;

/// <summary>
/// Sends tasks: builds the <see cref="TaskMessage"/>, asks the routes for the queue, encodes it and publishes it.
/// Works for tasks this app registered and, by name, for tasks only other processes know (a Python task, say).
/// </summary>
public sealed partial class FennelClient
{
    private readonly Func<ITransport> _transport;
    private readonly Func<IResultStore> _results;
    private readonly TaskRegistry _registry;
    private readonly TaskRoutes _routes;
    private readonly TimeProvider _time;
    private readonly TimeSpan _revokeExpires;

    internal FennelClient(Func<ITransport> transport, Func<IResultStore> results, TaskRegistry registry, TaskRoutes routes,
        JsonSerializerOptions json, TimeProvider time, TimeSpan revokeExpires, Events.LamportClock clock, ILogger? logger = null)
    {
        Control = new ControlClient(transport, clock, time, logger ?? NullLogger.Instance);
        _revokeExpires = revokeExpires;
        Clock = clock;
        _transport = transport;
        _results = results;
        _registry = registry;
        _routes = routes;
        Json = json;
        _time = time;
        Origin = $"gen{Environment.ProcessId}@{Environment.MachineName}";
        Publisher = new TaskPublisher(transport, ReplyQueueStore, time, OnTasksSent);
    }

    /// <summary>Publishes built messages: what this client sends, and what a worker re-publishes (retries).</summary>
    internal TaskPublisher Publisher { get; }

    /// <summary>The process's Lamport clock (<see cref="FennelApp.Clock"/>), for the control requests this client sends.</summary>
    internal Events.LamportClock Clock { get; }

    /// <summary>
    /// Remote control of workers, Fennel's and Celery's: <c>ping</c>, <c>stats</c>, <c>active</c>, <c>rate_limit</c>,
    /// <c>shutdown</c>, ... (Celery's <c>app.control</c>).
    /// </summary>
    public ControlClient Control { get; }

    /// <summary>The serializer options for arguments and results.</summary>
    public JsonSerializerOptions Json { get; }

    private readonly string _ownReplyTo = Guid.NewGuid().ToString();

    /// <summary>
    /// This client's id in <c>reply_to</c>: where rpc results and control replies for it go. With an <c>rpc://</c>
    /// result store it is that store's reply queue.
    /// </summary>
    public string ReplyTo => ReplyQueueStore()?.ReplyTo ?? _ownReplyTo;

    /// <summary>The <c>origin</c> header: <c>gen&lt;pid&gt;@&lt;host&gt;</c>.</summary>
    public string Origin { get; }

    /// <summary>Sends a task by name with JSON arguments.</summary>
    public async Task<AsyncResult> SendTaskAsync(string name, JsonArray? args = null, JsonObject? kwargs = null, CallOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var (message, queue) = Build(new TaskCall(name, args, kwargs, options));
        await Publisher.PublishAsync(message, queue, cancellationToken).ConfigureAwait(false);
        return new AsyncResult(message.Id, _results(), Json) { Client = this };
    }

    /// <summary>Sends a task by name with .NET arguments (serialized as JSON) and a known result type.</summary>
    public async Task<AsyncResult<TResult>> SendTaskAsync<TResult>(string name, object?[] args, CallOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var (message, queue) = Build(new TaskCall(name, ToJsonArgs(args), null, options));
        await Publisher.PublishAsync(message, queue, cancellationToken).ConfigureAwait(false);
        return new AsyncResult<TResult>(message.Id, _results(), Json) { Client = this };
    }

    /// <summary>Sends many tasks in as few broker round trips as possible.</summary>
    public async Task<IReadOnlyList<AsyncResult>> SendBatchAsync(IReadOnlyList<TaskCall> calls, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calls);
        var built = calls.Select(Build).ToList();
        await Publisher.PublishAsync(built, cancellationToken).ConfigureAwait(false);
        var store = _results();
        return [.. built.Select(b => new AsyncResult(b.Message.Id, store, Json) { Client = this })];
    }

    /// <summary>Publishes an already built message (re-sending, retries).</summary>
    public Task PublishAsync(TaskMessage message, string queue, CancellationToken cancellationToken = default) =>
        Publisher.PublishAsync(message, queue, cancellationToken);

    /// <summary>The handle of a task sent earlier.</summary>
    public AsyncResult GetResult(string taskId) => new(taskId, _results(), Json) { Client = this };

    /// <summary>The handle of a task sent earlier, with its result type.</summary>
    public AsyncResult<T> GetResult<T>(string taskId) => new(taskId, _results(), Json) { Client = this };

    /// <summary>Most revokes written or broadcast in one broker call.</summary>
    private const int RevokeChunk = 1000;

    /// <summary>
    /// Revokes tasks: workers that receive them later skip them (they end REVOKED <c>revoked</c>), and with
    /// <paramref name="terminate"/> a running one is stopped (REVOKED <c>terminated</c>). The revokes are kept in the
    /// broker for <see cref="Configuration.FennelOptions.RevokeExpires"/> (3 h by default) where it can keep them
    /// (<see cref="IRevokeStore"/>), so workers started or restarted later honour them too; and they are
    /// broadcast as Celery's <c>revoke</c> control request, so Python Celery workers on the broker honour them as well.
    /// Completes when the broker holds them.
    /// </summary>
    /// <exception cref="NotSupportedException">The broker can neither keep revokes nor broadcast them.</exception>
    /// <exception cref="FennelException">The broker could not be reached; revoking again is safe.</exception>
    public async Task RevokeAsync(IEnumerable<string> taskIds, bool terminate = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var ids = taskIds.Distinct(StringComparer.Ordinal).ToList();
        foreach (var id in ids) ArgumentException.ThrowIfNullOrEmpty(id, nameof(taskIds));
        if (ids.Count == 0) return;
        var transport = _transport();
        var store = transport as IRevokeStore;
        var broadcast = transport as IBroadcastTransport;
        if (store is null && broadcast is null)
        {
            throw new NotSupportedException(
                $"The broker {transport.GetType().Name} can neither keep revokes nor broadcast them, so no worker would learn of them.");
        }
        var now = _time.GetUtcNow();
        foreach (var chunk in ids.Chunk(RevokeChunk))
        {
            // Durable first: once it is stored, every Fennel worker honours it, even if the broadcast below fails.
            if (store is not null)
            {
                await store.AddRevokesAsync([.. chunk.Select(id => new Revocation(id, terminate, now, now + _revokeExpires))], cancellationToken)
                    .ConfigureAwait(false);
            }
            if (broadcast is not null)
            {
                await Control.SendAsync(PidboxRequest.Revoke(chunk, terminate), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Revokes one task; see <see cref="RevokeAsync(IEnumerable{string}, bool, CancellationToken)"/>.</summary>
    public Task RevokeAsync(string taskId, bool terminate = false, CancellationToken cancellationToken = default) =>
        RevokeAsync([taskId], terminate, cancellationToken);

    /// <summary>Deletes every waiting message of a queue; returns how many.</summary>
    public Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default) => _transport().PurgeAsync(queue, cancellationToken);

    /// <summary>Serializes .NET values as task arguments.</summary>
    public JsonArray ToJsonArgs(params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var array = new JsonArray();
        foreach (var a in args) array.Add(a is null ? null : a as JsonNode ?? JsonSerializer.SerializeToNode(a, a.GetType(), Json));
        return array;
    }

    /// <summary>Builds the message and picks its queue: call option, else the task's queue, else the routes.</summary>
    internal (TaskMessage Message, string Queue) Build(TaskCall call)
    {
        ArgumentException.ThrowIfNullOrEmpty(call.Name);
        var options = call.Options ?? new CallOptions();
        _registry.TryGet(call.Name, out var task);
        var now = _time.GetUtcNow();
        var id = options.TaskId ?? Guid.NewGuid().ToString();
        var parent = TaskContext.Current;
        var headers = new JsonObject();
        if (options.Headers is not null)
        {
            foreach (var (key, value) in options.Headers)
            {
                headers[key] = value is null ? null : value as JsonNode ?? JsonSerializer.SerializeToNode(value, value.GetType(), Json);
            }
        }
        var soft = options.SoftTimeLimit ?? task?.Options.SoftTimeLimit;
        var hard = options.TimeLimit ?? task?.Options.TimeLimit;
        var priority = options.Priority ?? 0;
        if (priority is < 0 or > 9) throw new ArgumentOutOfRangeException(nameof(call), priority, "Priority must be between 0 and 9.");
        var message = new TaskMessage
        {
            Id = id,
            Task = call.Name,
            Shadow = options.Shadow,
            Eta = options.Eta ?? (options.Countdown is { } countdown ? now + countdown : null),
            Expires = options.Expires ?? (options.ExpiresIn is { } expiresIn ? now + expiresIn : null),
            TimeLimit = new TaskTimeLimit(hard?.TotalSeconds, soft?.TotalSeconds),
            RootId = parent?.Message.RootId ?? parent?.Id ?? id,
            ParentId = parent?.Id,
            Origin = Origin,
            IgnoreResult = options.IgnoreResult ?? task?.Options.IgnoreResult ?? false,
            ExtraHeaders = headers,
            ReplyTo = options.ReplyTo ?? ReplyTo,
            Priority = priority,
            Args = call.Args ?? [],
            Kwargs = call.Kwargs ?? [],
        };
        if (task?.Redaction is { } redaction)
        {
            var (argsRepr, kwargsRepr) = redaction.Repr(message.Args, message.Kwargs);
            message = message with { ArgsRepr = argsRepr, KwargsRepr = kwargsRepr };
        }
        var queue = options.Queue ?? task?.Options.Queue ?? _routes.Resolve(call.Name);
        return (message, queue);
    }

    private IReplyQueueResultStore? ReplyQueueStore()
    {
        try
        {
            return _results() as IReplyQueueResultStore;
        }
        catch (FennelConfigurationException)
        {
            return null; // reported where results are used
        }
    }

    /// <summary>Set in eager mode: runs a task in this process in place of publishing it.</summary>
    internal Func<TaskMessage, string, CancellationToken, Task>? RunEagerly
    {
        get => Publisher.RunEagerly;
        set => Publisher.RunEagerly = value;
    }
}
