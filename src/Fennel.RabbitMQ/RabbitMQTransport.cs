using System.Collections.Concurrent;
using Fennel.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Fennel.RabbitMQ;

/// <summary>
/// The RabbitMQ broker (<c>amqp://</c>, <c>amqps://</c>) with Celery's topology, so Python Celery clients and workers
/// share its queues: a durable queue per task queue, bound to a direct exchange of the same name, tasks published to
/// the default exchange with the queue name as routing key, headers and properties as Celery sends them.
/// </summary>
/// <remarks>
/// <para>Guarantees: a publish completes when the broker confirmed it (publisher confirms, many in flight at once); a
/// message stays unacknowledged until its task finished; prefetch follows what the worker asks for. A lease here is the
/// consumer channel: the broker gives the message back when the channel or connection closes, and Fennel also gives it
/// back when the caller stops renewing. Redeliveries are counted in a header (<see cref="AmqpMessage.LostDeliveriesHeader"/>),
/// which works on classic queues, so the worker's delivery limit holds.</para>
/// <para>The parts: this file (publish, declare, count, purge), <c>RabbitMQTransport.Consume.cs</c> (consumers, the fetch
/// buffer, redelivery counting), <c>RabbitMQTransport.Settle.cs</c> (ack, release, renew, dead-letter, the lease
/// watcher), <c>RabbitMQTransport.LongTasks.cs</c> (lease queues past consumer_timeout), <c>RabbitMQTransport.Delay.cs</c>
/// (parked ETA tasks), <c>RabbitMQTransport.DeadLetters.cs</c>, <c>RabbitMQTransport.Broadcast.cs</c> and
/// <c>RabbitMQTransport.Revokes.cs</c> (the revoke stream).</para>
/// </remarks>
public sealed partial class RabbitMQTransport : ITransport, IDeadLetterStore, IBroadcastTransport, IPrefetchingTransport
{
    private readonly RabbitMQConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, bool> _declared = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _adminGate = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private IChannel? _admin;
    private int _disposed;

    /// <summary>A transport on a connection Fennel opens (and closes on dispose).</summary>
    public RabbitMQTransport(RabbitMQOptions options, TimeProvider? timeProvider = null, ILogger<RabbitMQTransport>? logger = null)
        : this(new RabbitMQConnection(options ?? throw new ArgumentNullException(nameof(options)), logger), timeProvider, logger)
    {
    }

    internal RabbitMQTransport(RabbitMQConnection connection, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection.AddUser();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<RabbitMQTransport>.Instance;
        _connection.Lost += OnConnectionLost;
        _connection.Recovered += OnConnectionRecoveredAsync;
    }

    /// <summary>The server and the settings.</summary>
    public RabbitMQOptions Options => _connection.Options;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    public TransportCapabilities Capabilities => TransportCapabilities.DelayedDelivery;

    /// <inheritdoc />
    public Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        return EnsureQueueAsync(queue, cancellationToken);
    }

    /// <inheritdoc />
    public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) =>
        PublishBatchAsync([message], cancellationToken);

    /// <summary>
    /// Publishes every message at once on the confirming channel and completes when the broker confirmed them all; a
    /// message the broker could not route (its queue was deleted meanwhile) is published again after re-declaring the
    /// queue. <see cref="OutgoingMessage.NotBefore"/> is not honoured here: ETA tasks go to their queue at once, as Celery
    /// sends them, and a Fennel worker parks them (<see cref="ReleaseAsync"/>).
    /// </summary>
    public async Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) return;
        foreach (var message in messages) ArgumentException.ThrowIfNullOrEmpty(message?.Queue, nameof(messages));
        ObjectDisposedException.ThrowIf(IsDisposed, this);

        var outgoing = new (string Queue, BasicProperties Properties, byte[] Body)[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var properties = AmqpMessage.ToProperties(messages[i].Envelope);
            var body = messages[i].Envelope.Body;
            if (messages[i].Priority > 0 && properties.Priority == 0) properties.Priority = (byte)Math.Clamp(messages[i].Priority, 0, 255);
            outgoing[i] = (messages[i].Queue, properties, body);
        }
        foreach (var queue in outgoing.Select(o => o.Queue).Distinct(StringComparer.Ordinal))
        {
            await EnsureQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        }

        await PublishToQueuesAsync(outgoing.Select(o => new Outgoing(o.Queue, o.Properties, o.Body)).ToList(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A message for the default exchange: routing key = queue.</summary>
    internal readonly record struct Outgoing(string Queue, BasicProperties Properties, ReadOnlyMemory<byte> Body);

    /// <summary>Publishes one message to the default exchange and waits for the broker's confirm.</summary>
    internal Task PublishOneAsync(string queue, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken,
        bool redeclare = true) =>
        PublishToQueuesAsync([new Outgoing(queue, properties, body)], cancellationToken, redeclare);

    /// <summary>
    /// Publishes in order to the default exchange (mandatory) and waits until the broker confirmed every message. A
    /// message it could not route (its queue was deleted after this process declared it) is published once more after
    /// declaring the queue again.
    /// </summary>
    internal async Task PublishToQueuesAsync(IReadOnlyList<Outgoing> messages, CancellationToken cancellationToken, bool redeclare = true)
    {
        var what = messages.Count == 1 ? "publish to " + messages[0].Queue : $"publish {messages.Count} messages";
        var publisher = await _connection.PublisherAsync(cancellationToken).ConfigureAwait(false);
        var sends = messages.Select(m => new ConfirmingPublisher.Message("", m.Queue, Mandatory: true, m.Properties, m.Body)).ToList();
        ConfirmingPublisher.Outcome[] outcomes;
        try
        {
            var confirms = await publisher.SendAsync(sends, cancellationToken).ConfigureAwait(false);
            outcomes = await Task.WhenAll(confirms).WaitAsync(Options.ConfirmTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new BrokerException($"RabbitMQ at {Options.Display} did not confirm within {Options.ConfirmTimeout.TotalSeconds:0.#} s ({what}); it may or may not have the messages.");
        }
        catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
        {
            throw RabbitMQErrors.Wrap(e, Options, what);
        }
        var returned = messages.Where((_, i) => outcomes[i] == ConfirmingPublisher.Outcome.Returned).ToList();
        if (returned.Count == 0) return;
        if (!redeclare)
        {
            throw new BrokerException($"RabbitMQ at {Options.Display} could not route a message to queue '{returned[0].Queue}': the queue does not exist.", isTransient: false);
        }
        foreach (var queue in returned.Select(m => m.Queue).Distinct(StringComparer.Ordinal))
        {
            _declared.TryRemove(queue, out _);
            await EnsureQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        }
        await PublishToQueuesAsync(returned, cancellationToken, redeclare: false).ConfigureAwait(false);
    }

    /// <summary>
    /// How many messages wait in the queue: ready on the broker, received by this process but not fetched, and parked by
    /// this process in delay queues. Unacknowledged messages of other consumers and ETA tasks parked by other processes
    /// are not counted (AMQP cannot list queues).
    /// </summary>
    public async Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        await EnsureQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        var arrival = NextArrival();
        var count = await CountWaitingAsync().ConfigureAwait(false);
        if (IsConsuming(queue))
        {
            // A message the broker just pushed to this process is in neither count until it lands here: give it a moment.
            try
            {
                await arrival.WaitAsync(TimeSpan.FromMilliseconds(25), _time, cancellationToken).ConfigureAwait(false);
                count = await CountWaitingAsync().ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Nothing on the wire.
            }
        }
        return count;

        async Task<long> CountWaitingAsync()
        {
            var ok = await AdminAsync(channel => channel.QueueDeclarePassiveAsync(queue, cancellationToken), "count the queue " + queue).ConfigureAwait(false);
            return ok.MessageCount + CountBuffered(queue) + await CountParkedAsync(queue, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes the waiting messages of the queue: ready on the broker and received here but not fetched. Unacknowledged
    /// messages of running tasks stay, and so do parked ETA tasks.
    /// </summary>
    public async Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        await EnsureQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        var purged = await AdminAsync(channel => channel.QueuePurgeAsync(queue, cancellationToken), "purge the queue " + queue).ConfigureAwait(false);
        return purged + await PurgeBufferedAsync(queue).ConfigureAwait(false);
    }

    /// <summary>
    /// Declares a task queue once per process as a Celery client does: durable, bound to a durable direct exchange of
    /// the same name with the queue name as routing key (with <c>x-max-priority</c> when configured).
    /// </summary>
    internal async Task EnsureQueueAsync(string queue, CancellationToken cancellationToken)
    {
        if (_declared.ContainsKey(queue)) return;
        Dictionary<string, object?>? arguments = Options.MaxPriority is { } max ? new() { ["x-max-priority"] = max } : null;
        try
        {
            await AdminAsync(async channel =>
            {
                await channel.ExchangeDeclareAsync(queue, ExchangeType.Direct, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
                await channel.QueueBindAsync(queue, queue, queue, cancellationToken: cancellationToken).ConfigureAwait(false);
                return true;
            }, "declare the queue " + queue).ConfigureAwait(false);
        }
        catch (BrokerException e) when (e.InnerException is OperationInterruptedException { ShutdownReason.ReplyCode: 406 } refused)
        {
            throw new BrokerException(
                $"RabbitMQ at {Options.Display} refused to declare queue '{queue}': {refused.ShutdownReason?.ReplyText}. The queue exists with other " +
                $"arguments; every client must declare it alike (Fennel: max_priority={(Options.MaxPriority?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset")}; Celery: task_queue_max_priority).",
                e, isTransient: false);
        }
        _declared[queue] = true;
    }

    /// <summary>
    /// Runs administrative work (declare, count, purge, delete) on one channel kept for it, so a refusal that closes the
    /// channel never takes the consumers or the publisher with it.
    /// </summary>
    internal async Task<T> AdminAsync<T>(Func<IChannel, Task<T>> work, string operation)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        await _adminGate.WaitAsync(_disposing.Token).ConfigureAwait(false);
        try
        {
            if (_admin is not { IsOpen: true })
            {
                if (_admin is { } old) await DisposeQuietlyAsync(old).ConfigureAwait(false);
                _admin = null;
                _admin = await _connection.CreateChannelAsync(_disposing.Token).ConfigureAwait(false);
            }
            return await RabbitMQErrors.Guard(work(_admin), Options, operation).ConfigureAwait(false);
        }
        finally
        {
            _adminGate.Release();
        }
    }

    /// <summary>Stops consuming, gives back what was received but never handed out, and closes the connection if Fennel opened it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _disposing.CancelAsync().ConfigureAwait(false);
        await StopConsumingAsync().ConfigureAwait(false);
        await StopBroadcastAsync().ConfigureAwait(false);
        await StopRevokeReaderAsync().ConfigureAwait(false);
        if (_admin is { } admin) await DisposeQuietlyAsync(admin).ConfigureAwait(false);
        _connection.Lost -= OnConnectionLost;
        _connection.Recovered -= OnConnectionRecoveredAsync;
        await _connection.DisposeAsync().ConfigureAwait(false);
        _adminGate.Dispose();
        _disposing.Dispose();
    }

    private static async Task DisposeQuietlyAsync(IChannel channel)
    {
        try
        {
            if (channel.IsOpen) await channel.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
        {
            // Closed already.
        }
        await channel.DisposeAsync().ConfigureAwait(false);
    }
}
