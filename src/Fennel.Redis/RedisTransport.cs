using System.Collections.Concurrent;
using System.Globalization;
using Fennel.Protocol;
using Fennel.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// The Redis broker (<c>redis://</c>, <c>rediss://</c>) in kombu's layout, so Python Celery clients and workers share its
/// queues: a list per queue and priority step, <c>_kombu.binding.*</c> sets, envelopes as Celery writes them, and held
/// messages recorded in <c>unacked</c> / <c>unacked_index</c> exactly as kombu records them.
/// </summary>
/// <remarks>
/// <para>On top of that layout Fennel keeps leases (<see cref="RedisScripts"/>): a worker renews the
/// <c>unacked_index</c> score of every message it holds, so no consumer — Fennel or kombu — restores a live task, and a
/// crashed consumer's messages come back when their lease lapses. ETA tasks due later are parked in <c>unacked</c>
/// with the score at which kombu's own restore makes them due, so they leave worker memory and Python workers see
/// them at the right time.</para>
/// <para>The parts: this file (publish, declare, count, purge), <c>RedisTransport.Fetch.cs</c> (batched fetch and idle
/// waiting), <c>RedisTransport.Acks.cs</c> (batched acks), <c>RedisTransport.Settle.cs</c> (release, park, renew,
/// dead-letter), <c>RedisTransport.Restore.cs</c> (bringing back lapsed and due messages),
/// <c>RedisTransport.DeadLetters.cs</c>, <c>RedisTransport.Broadcast.cs</c> (kombu's pub/sub fan-out) and
/// <c>RedisTransport.RateLimits.cs</c> (cluster-wide rate limits).</para>
/// </remarks>
public sealed partial class RedisTransport : ITransport, IDeadLetterStore, IBroadcastTransport, IRevokeStore
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, bool> _bound = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;

    /// <summary>A transport on a connection Fennel opens (and closes on dispose).</summary>
    public RedisTransport(RedisOptions options, TimeProvider? timeProvider = null, ILogger<RedisTransport>? logger = null)
        : this(new RedisConnection(options ?? throw new ArgumentNullException(nameof(options))), options, timeProvider, logger)
    {
    }

    /// <summary>A transport on the application's multiplexer, which it never disposes.</summary>
    public RedisTransport(IConnectionMultiplexer multiplexer, RedisOptions options, TimeProvider? timeProvider = null,
        ILogger<RedisTransport>? logger = null)
        : this(new RedisConnection(multiplexer), options, timeProvider, logger)
    {
    }

    internal RedisTransport(RedisConnection connection, RedisOptions options, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        _connection = connection.AddUser();
        Options = options;
        _keys = new RedisKeys(options.Database);
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<RedisTransport>.Instance;
    }

    /// <summary>The server and the settings.</summary>
    public RedisOptions Options { get; }

    /// <summary>True once disposed.</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    public TransportCapabilities Capabilities => TransportCapabilities.DelayedDelivery;

    /// <summary>The keys every lease script gets first (see <see cref="RedisScripts"/>).</summary>
    internal static RedisKey[] LeaseKeys(params RedisKey[] more) =>
        [RedisKeys.Unacked, RedisKeys.UnackedIndex, RedisKeys.Leases, RedisKeys.DeadLetters, RedisKeys.DeadLetterIndex, .. more];

    /// <inheritdoc />
    public async Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var database = await DatabaseAsync().ConfigureAwait(false);
        await _connection.Guard(BindAsync(database, [queue]), "declare the queue " + queue).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) =>
        PublishBatchAsync([message], cancellationToken);

    /// <summary>
    /// Publishes with as few round trips as possible: one pipeline of <c>LPUSH</c>es (consecutive messages for the same
    /// list share one) and one announcement per queue. <see cref="OutgoingMessage.NotBefore"/> is not honoured here (no
    /// <see cref="TransportCapabilities.DelayedPublish"/>): an ETA task goes to its queue at once, as Celery sends it, so
    /// a Python worker holds it as Celery does, and a Fennel worker parks it (<see cref="ReleaseAsync"/>).
    /// </summary>
    public async Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) return;
        foreach (var message in messages) ArgumentException.ThrowIfNullOrEmpty(message?.Queue, nameof(messages));
        cancellationToken.ThrowIfCancellationRequested();
        await StoreAsync([.. messages.Select(m => (m.Queue, m.Priority, (RedisValue)KombuEnvelope.Encode(m.Envelope)))]).ConfigureAwait(false);
    }

    /// <summary>
    /// Pushes bytes as they are, unchecked, as if a foreign producer had written them: what tests of a worker's handling of
    /// malformed messages, and tools that replay stored messages, need. Fennel's own producers publish envelopes.
    /// </summary>
    /// <param name="queue">The queue.</param>
    /// <param name="stored">The message in its stored form (kombu's JSON envelope, or anything else).</param>
    /// <param name="priority">0..9, in kombu's direction (lower first).</param>
    /// <param name="cancellationToken">Cancels before sending.</param>
    internal Task PublishStoredAsync(string queue, ReadOnlyMemory<byte> stored, int priority = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        cancellationToken.ThrowIfCancellationRequested();
        return StoreAsync([(queue, priority, (RedisValue)stored.ToArray())]);
    }

    private async Task StoreAsync(IReadOnlyList<(string Queue, int Priority, RedisValue Body)> messages)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var queues = messages.Select(m => m.Queue).Distinct(StringComparer.Ordinal).ToList();
        var batch = database.CreateBatch();
        var writes = new List<Task> { BindAsync(batch, queues) };
        var run = new List<RedisValue>();
        RedisKey runList = default;
        foreach (var message in messages)
        {
            var list = RedisKeys.List(message.Queue, RedisKeys.StepOf(message.Priority));
            if (run.Count > 0 && list != runList) Flush();
            runList = list;
            run.Add(message.Body);
        }
        Flush();
        foreach (var queue in queues) writes.Add(batch.PublishAsync(_keys.Ready(queue), RedisValue.EmptyString));
        try
        {
            batch.Execute();
        }
        catch (Exception e) when (RedisErrors.IsRedis(e))
        {
            // Nothing was sent; the queued commands fail with the same error, observed here.
            _ = Task.WhenAll(writes).ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw RedisErrors.Wrap(e, _connection.Endpoint, "publish");
        }
        await _connection.Guard(Task.WhenAll(writes), messages.Count == 1 ? "publish to " + messages[0].Queue : $"publish {messages.Count} messages")
            .ConfigureAwait(false);

        void Flush()
        {
            if (run.Count == 0) return;
            writes.Add(batch.ListLeftPushAsync(runList, [.. run]));
            run.Clear();
        }
    }

    /// <inheritdoc />
    public async Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var result = await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Length, QueueKeys(queue), [Ceiling()]),
            "count the queue " + queue).ConfigureAwait(false);
        return (long)result;
    }

    /// <inheritdoc />
    public async Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var result = await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Purge, QueueKeys(queue), [Ceiling()]),
            "purge the queue " + queue).ConfigureAwait(false);
        return (long)result;
    }

    /// <summary>Stops restoring and waiting; closes the connection if Fennel opened it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await StopDirectSubscriptionsAsync().ConfigureAwait(false);
        await StopAckingAsync().ConfigureAwait(false);
        await _disposing.CancelAsync().ConfigureAwait(false);
        if (_restorer is { } restorer)
        {
            try { await restorer.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        await UnsubscribeReadyAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _disposing.Dispose();
    }

    /// <summary>The lease keys, the queue's delayed set and its four lists.</summary>
    private static RedisKey[] QueueKeys(string queue) =>
        LeaseKeys([RedisKeys.Delayed(queue), .. RedisKeys.PrioritySteps.Select(step => RedisKeys.List(queue, step))]);

    /// <summary>kombu's binding of a queue to its own direct exchange, as a Celery client declares it.</summary>
    private Task BindAsync(IDatabaseAsync database, List<string> queues)
    {
        var adds = new List<Task>();
        foreach (var queue in queues)
        {
            if (_bound.TryAdd(queue, true)) adds.Add(BindOneAsync(database, queue));
        }
        return Task.WhenAll(adds);
    }

    private async Task BindOneAsync(IDatabaseAsync database, string queue)
    {
        try
        {
            await database.SetAddAsync(RedisKeys.Binding(queue), RedisKeys.BindingMember(queue, queue)).ConfigureAwait(false);
        }
        catch
        {
            _bound.TryRemove(queue, out _);
            throw;
        }
    }

    private Task<IDatabase> DatabaseAsync()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return _connection.DatabaseAsync(Options.Database);
    }


    private static double UnixSeconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;

    private static string Format(double seconds) => seconds.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The <c>unacked_index</c> score of a lease (or park) ending at <paramref name="end"/>: kombu restores at end.</summary>
    private string LeaseScore(DateTimeOffset end) => Format(UnixSeconds(end) - Options.VisibilityTimeout.TotalSeconds);

    /// <summary>kombu's restore ceiling: scores at or below it have lapsed.</summary>
    private string Ceiling() => Format(UnixSeconds(_time.GetUtcNow()) - Options.VisibilityTimeout.TotalSeconds);
}
