using System.Collections.Concurrent;
using Fennel.Protocol;
using Fennel.Results;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Fennel.RabbitMQ;

/// <summary>
/// Celery's <c>rpc://</c> result backend: nothing is stored. A worker publishes each state of a task to the caller's
/// reply queue (default exchange, routing key = the task's <c>reply_to</c>, correlation id = task id, transient), and
/// the caller keeps what arrives on its own queue. Results therefore reach only the process that sent the task, and
/// are lost if it is not running (as with Celery); use the Redis result store when others must read them.
/// </summary>
/// <remarks>
/// The reply queue is named by <see cref="ReplyTo"/>, declared as Celery declares it (non-durable, auto-delete, expiring
/// after a day unused) before this process sends its first task, and consumed without acks. Results that arrived are
/// kept in memory, the newest <see cref="MaxKept"/>.
/// </remarks>
public sealed class RpcResultStore : IReplyQueueResultStore
{
    /// <summary>How many received results are kept for <see cref="GetAsync"/>; older ones are forgotten first.</summary>
    public const int MaxKept = 10_000;

    private static readonly TimeSpan ReplyQueueExpiry = TimeSpan.FromDays(1);
    private readonly RabbitMQConnection _connection;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TaskResult> _received = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<TaskResult>> _waiters = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;
    private int _disposed;

    /// <summary>A store on a connection of its own.</summary>
    public RpcResultStore(RabbitMQOptions options, ILogger<RpcResultStore>? logger = null)
        : this(new RabbitMQConnection(options ?? throw new ArgumentNullException(nameof(options)), logger), logger)
    {
    }

    internal RpcResultStore(RabbitMQConnection connection, ILogger? logger)
    {
        _connection = connection.AddUser();
        _logger = logger ?? NullLogger<RpcResultStore>.Instance;
        _connection.Recovered += OnRecoveredAsync;
    }

    /// <inheritdoc />
    public string ReplyTo { get; } = Guid.NewGuid().ToString();

    /// <summary>Publishes the state to the task's reply queue; a task sent without <c>reply_to</c> has nowhere to go.</summary>
    public async Task StoreAsync(TaskResult result, TimeSpan expires, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (string.IsNullOrEmpty(result.ReplyTo))
        {
            Log.RpcResultWithoutReplyTo(_logger, result.TaskId, result.State.ToWire());
            return;
        }
        var properties = new BasicProperties
        {
            CorrelationId = result.TaskId,
            DeliveryMode = DeliveryModes.Transient,
            ContentType = TaskMessageCodec.ContentType,
            ContentEncoding = TaskMessageCodec.ContentEncoding,
            Headers = new Dictionary<string, object?>(),
        };
        var publisher = await _connection.PublisherAsync(cancellationToken).ConfigureAwait(false);
        await RabbitMQErrors.Guard(publisher.PublishAsync(new ConfirmingPublisher.Message("", result.ReplyTo, Mandatory: false, properties, TaskResultCodec.Encode(result)),
            _connection.Options.ConfirmTimeout, cancellationToken), _connection.Options, $"send the result of {result.TaskId} to {result.ReplyTo}").ConfigureAwait(false);
    }

    /// <summary>The latest state received for the task, or null (PENDING).</summary>
    public async Task<TaskResult?> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        await EnsureReplyQueueAsync(cancellationToken).ConfigureAwait(false);
        return _received.TryGetValue(taskId, out var result) ? result : null;
    }

    /// <inheritdoc />
    public async Task<TaskResult> WaitAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        await EnsureReplyQueueAsync(cancellationToken).ConfigureAwait(false);
        var waiter = _waiters.GetOrAdd(taskId, _ => new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_received.TryGetValue(taskId, out var known) && known.State.IsReady()) waiter.TrySetResult(known);
        try
        {
            return await waiter.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Task {taskId} did not finish within {timeout.TotalSeconds:0.###} s (no result on reply queue {ReplyTo}).");
        }
        finally
        {
            if (waiter.Task.IsCompleted) _waiters.TryRemove(taskId, out _);
        }
    }

    /// <inheritdoc />
    public Task ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        _received.TryRemove(taskId, out _);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task EnsureReplyQueueAsync(CancellationToken cancellationToken = default)
    {
        if (_channel is { IsOpen: true }) return;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channel is { IsOpen: true }) return;
            await ConsumeAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ConsumeAsync(CancellationToken cancellationToken)
    {
        if (_channel is { } old) await old.DisposeAsync().ConfigureAwait(false);
        var channel = await _connection.CreateChannelAsync(cancellationToken).ConfigureAwait(false);
        _channel = channel;
        var arguments = new Dictionary<string, object?> { ["x-expires"] = (int)ReplyQueueExpiry.TotalMilliseconds };
        await RabbitMQErrors.Guard(channel.QueueDeclareAsync(ReplyTo, durable: false, exclusive: false, autoDelete: true, arguments, cancellationToken: cancellationToken),
            _connection.Options, "declare the reply queue " + ReplyTo).ConfigureAwait(false);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += OnResultAsync;
        await RabbitMQErrors.Guard(channel.BasicConsumeAsync(ReplyTo, autoAck: true, consumerTag: "", noLocal: false, exclusive: false, arguments: null,
            consumer, cancellationToken), _connection.Options, "consume the reply queue " + ReplyTo).ConfigureAwait(false);
    }

    private Task OnResultAsync(object sender, BasicDeliverEventArgs delivery)
    {
        TaskResult result;
        try
        {
            result = TaskResultCodec.Decode(delivery.Body.Span, delivery.BasicProperties.CorrelationId);
        }
        catch (MessageFormatException e)
        {
            Log.RpcResultUnreadable(_logger, ReplyTo, delivery.BasicProperties.CorrelationId, e);
            return Task.CompletedTask;
        }
        if (_received.TryAdd(result.TaskId, result)) _order.Enqueue(result.TaskId);
        else _received[result.TaskId] = result;
        while (_received.Count > MaxKept && _order.TryDequeue(out var oldest)) _received.TryRemove(oldest, out _);
        if (result.State.IsReady() && _waiters.TryGetValue(result.TaskId, out var waiter)) waiter.TrySetResult(result);
        return Task.CompletedTask;
    }

    private async Task OnRecoveredAsync()
    {
        // The reply queue is auto-delete: it went with the connection. Results sent meanwhile are lost, as with Celery.
        if (_channel is null || Volatile.Read(ref _disposed) != 0) return;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await ConsumeAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _connection.Recovered -= OnRecoveredAsync;
        if (_channel is { } channel)
        {
            try
            {
                if (channel.IsOpen) await channel.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
            {
                // Gone already.
            }
            await channel.DisposeAsync().ConfigureAwait(false);
        }
        await _connection.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
