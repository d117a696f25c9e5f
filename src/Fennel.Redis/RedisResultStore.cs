using Fennel.Results;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// Celery's Redis result backend: <c>celery-task-meta-&lt;id&gt;</c> holds the result JSON (<see cref="TaskResultCodec"/>),
/// written with <c>SETEX</c> and announced with <c>PUBLISH</c> on a channel of the same name in one <c>MULTI</c>/<c>EXEC</c>,
/// as Celery writes it; Python clients read Fennel's results and the other way round.
/// </summary>
/// <remarks>
/// A waiter subscribes to the key's channel, then reads the key (so a result stored in between is not missed) and wakes on
/// the announcement. Announcements sent while the connection was down are lost, so a waiter also reads the key again
/// every <see cref="RecheckInterval"/>: a safety net, not the way results normally arrive.
/// </remarks>
public sealed class RedisResultStore : IResultStore
{
    /// <summary>Celery's key prefix.</summary>
    public const string KeyPrefix = "celery-task-meta-";

    private static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(5);

    private readonly RedisConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _disposed;

    /// <summary>A result store on a connection Fennel opens (and closes on dispose).</summary>
    public RedisResultStore(RedisOptions options, TimeProvider? timeProvider = null, ILogger<RedisResultStore>? logger = null)
        : this(new RedisConnection(options ?? throw new ArgumentNullException(nameof(options))), options, timeProvider, logger)
    {
    }

    /// <summary>A result store on the application's multiplexer, which it never disposes.</summary>
    public RedisResultStore(IConnectionMultiplexer multiplexer, RedisOptions options, TimeProvider? timeProvider = null,
        ILogger<RedisResultStore>? logger = null)
        : this(new RedisConnection(multiplexer), options, timeProvider, logger)
    {
    }

    internal RedisResultStore(RedisConnection connection, RedisOptions options, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        _connection = connection.AddUser();
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<RedisResultStore>.Instance;
    }

    /// <summary>The server and the settings.</summary>
    public RedisOptions Options { get; }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Stores the result and announces it, in one transaction. An expiry of zero, negative or <see cref="TimeSpan.MaxValue"/>
    /// keeps it without expiry (Celery's <c>result_expires=None</c>).
    /// </summary>
    public async Task StoreAsync(TaskResult result, TimeSpan expires, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        var key = KeyPrefix + result.TaskId;
        RedisValue value = TaskResultCodec.Encode(result);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var transaction = database.CreateTransaction();
        if (expires > TimeSpan.Zero && expires < TimeSpan.FromDays(36500))
        {
            // SETEX, whole seconds, as Celery writes it.
            _ = transaction.ExecuteAsync("SETEX", key, (long)Math.Ceiling(expires.TotalSeconds), value);
        }
        else
        {
            _ = transaction.StringSetAsync(key, value);
        }
        _ = transaction.PublishAsync(RedisChannel.Literal(key), value);
        await _connection.Guard(transaction.ExecuteAsync(), "store the result of task " + result.TaskId).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<TaskResult?> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var value = await _connection.Guard(database.StringGetAsync(KeyPrefix + taskId), "read the result of task " + taskId).ConfigureAwait(false);
        return value.IsNull ? null : TaskResultCodec.Decode((byte[])value!, taskId);
    }

    /// <inheritdoc />
    public async Task<TaskResult> WaitAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        var deadline = _time.GetUtcNow() + timeout;
        var channel = RedisChannel.Literal(KeyPrefix + taskId);
        var arrived = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStored(RedisChannel _, RedisValue value)
        {
            try
            {
                var stored = TaskResultCodec.Decode((byte[])value!, taskId);
                if (stored.State.IsReady()) arrived.TrySetResult(stored);
            }
            catch (Protocol.MessageFormatException e)
            {
                arrived.TrySetException(e);
            }
        }

        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var subscriber = (await _connection.GetAsync().ConfigureAwait(false)).GetSubscriber();
        // Subscribe and read at once: a result already stored costs one round trip. Once the subscription stands the key
        // is read again, so a result stored while it was being set up is not missed either.
        var subscribing = _connection.Guard(subscriber.SubscribeAsync(channel, OnStored), "wait for the result of task " + taskId);
        try
        {
            if (await GetAsync(taskId, cancellationToken).ConfigureAwait(false) is { } early && early.State.IsReady()) return early;
            await subscribing.ConfigureAwait(false);
            while (true)
            {
                if (await GetAsync(taskId, cancellationToken).ConfigureAwait(false) is { } stored && stored.State.IsReady()) return stored;
                var remaining = deadline - _time.GetUtcNow();
                if (remaining <= TimeSpan.Zero) throw new TimeoutException($"Task {taskId} did not finish within {timeout.TotalSeconds:0.###} s.");
                var pause = remaining < RecheckInterval ? remaining : RecheckInterval;
                var finished = await Task.WhenAny(arrived.Task, Task.Delay(pause, _time, cancellationToken)).ConfigureAwait(false);
                if (finished == arrived.Task) return await arrived.Task.ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            // Not awaited: the caller has its answer; the subscription is dropped as soon as it stands.
            _ = UnsubscribeAsync(subscriber, channel, OnStored, subscribing);
        }
    }

    private static async Task UnsubscribeAsync(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler, Task subscribing)
    {
        try
        {
            await subscribing.ConfigureAwait(false);
            await subscriber.UnsubscribeAsync(channel, handler).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BrokerException || RedisErrors.IsRedis(e))
        {
            // The connection is gone; so is the subscription.
        }
    }

    /// <inheritdoc />
    public async Task ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        var database = await DatabaseAsync().ConfigureAwait(false);
        await _connection.Guard(database.KeyDeleteAsync(KeyPrefix + taskId), "forget the result of task " + taskId).ConfigureAwait(false);
    }

    /// <summary>Closes the connection if Fennel opened it and no transport shares it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private Task<IDatabase> DatabaseAsync()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return _connection.DatabaseAsync(Options.Database);
    }

}
