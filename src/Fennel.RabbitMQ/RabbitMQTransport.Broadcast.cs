using System.Collections.Concurrent;
using Fennel.Transport;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Fennel.RabbitMQ;

// Fan-out for events and remote control, on the exchanges Celery declares: `celeryev` (topic, durable) for events,
// `celery.pidbox` (fanout) for control requests and `reply.celery.pidbox` (direct) for replies. A subscriber gets a
// queue of its own, named and configured as Celery names its own (auto-delete, with Celery's message TTL and expiry),
// consumed without acks; subscriptions are re-created after a reconnect.
public sealed partial class RabbitMQTransport
{
    private readonly ConcurrentDictionary<string, bool> _exchanges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Subscription, bool> _subscriptions = new();

    /// <inheritdoc />
    public async Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(routingKey);
        var (properties, payload) = AmqpMessage.FromEnvelope(body.Span);
        await EnsureExchangeAsync(exchange, cancellationToken).ConfigureAwait(false);
        var publisher = await _connection.PublisherAsync(cancellationToken).ConfigureAwait(false);
        await RabbitMQErrors.Guard(publisher.PublishAsync(new ConfirmingPublisher.Message(exchange, routingKey, Mandatory: false, properties, payload), Options.ConfirmTimeout, cancellationToken),
            Options, $"broadcast to {exchange}").ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IAsyncDisposable> SubscribeAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler,
        string? subscriberName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(bindingKey);
        ArgumentNullException.ThrowIfNull(handler);
        await EnsureExchangeAsync(exchange, cancellationToken).ConfigureAwait(false);
        var subscription = new Subscription(this, exchange, bindingKey, handler, QueueNameFor(exchange, bindingKey, subscriberName));
        await subscription.StartAsync(cancellationToken).ConfigureAwait(false);
        _subscriptions[subscription] = true;
        return subscription;
    }

    private async Task EnsureExchangeAsync(string exchange, CancellationToken cancellationToken)
    {
        if (_exchanges.ContainsKey(exchange)) return;
        var (type, durable) = exchange switch
        {
            "celeryev" => (ExchangeType.Topic, true),
            "celery.pidbox" => (ExchangeType.Fanout, false),
            "reply.celery.pidbox" => (ExchangeType.Direct, false),
            _ => (ExchangeType.Topic, false),
        };
        await AdminAsync(async channel =>
        {
            await channel.ExchangeDeclareAsync(exchange, type, durable, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }, "declare the exchange " + exchange).ConfigureAwait(false);
        _exchanges[exchange] = true;
    }

    /// <summary>
    /// Celery's names: <c>celeryev.&lt;uuid&gt;</c>, <c>&lt;oid&gt;.reply.celery.pidbox</c>, and on <c>celery.pidbox</c> a
    /// worker's mailbox <c>&lt;node name&gt;.celery.pidbox</c> (kombu's <c>Mailbox.get_queue</c>); an anonymous subscriber
    /// gets <c>&lt;uuid&gt;.celery.pidbox</c>. Other exchanges follow the pidbox pattern.
    /// </summary>
    private static string QueueNameFor(string exchange, string bindingKey, string? subscriberName) => exchange switch
    {
        "reply.celery.pidbox" when bindingKey.Length > 0 => $"{bindingKey}.reply.celery.pidbox",
        "celeryev" => $"celeryev.{Guid.NewGuid()}",
        _ => $"{(string.IsNullOrEmpty(subscriberName) ? Guid.NewGuid().ToString() : subscriberName)}.{exchange}",
    };

    /// <summary>Celery's queue arguments: events live 5 s and the queue 60 s unused; pidbox messages 300 s and the queue 10 s.</summary>
    private static Dictionary<string, object?> QueueArgumentsFor(string exchange) => exchange == "celeryev"
        ? new() { ["x-message-ttl"] = 5_000, ["x-expires"] = 60_000 }
        : new() { ["x-message-ttl"] = 300_000, ["x-expires"] = 10_000 };

    private async Task ResubscribeAsync()
    {
        _exchanges.Clear();
        foreach (var subscription in _subscriptions.Keys)
        {
            try
            {
                await EnsureExchangeAsync(subscription.Exchange, _disposing.Token).ConfigureAwait(false);
                await subscription.StartAsync(_disposing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is BrokerException || RabbitMQErrors.IsRabbit(e))
            {
                Log.RecoveryHandlerFailed(_logger, Options.Display, e);
            }
        }
    }

    private async Task StopBroadcastAsync()
    {
        foreach (var subscription in _subscriptions.Keys) await subscription.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Subscription(RabbitMQTransport transport, string exchange, string bindingKey, Func<BroadcastMessage, Task> handler, string queue)
        : IAsyncDisposable
    {
        private IChannel? _channel;
        private int _disposed;

        public string Exchange => exchange;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (_channel is { } old) await DisposeQuietlyAsync(old).ConfigureAwait(false);
            var channel = await transport._connection.CreateChannelAsync(cancellationToken).ConfigureAwait(false);
            _channel = channel;
            var declared = await RabbitMQErrors.Guard(channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: true,
                QueueArgumentsFor(exchange), cancellationToken: cancellationToken), transport.Options, "declare the queue " + queue).ConfigureAwait(false);
            // kombu warns the same way (W_PIDBOX_IN_USE): two nodes of one name share a mailbox, and each gets only some requests.
            if (declared.ConsumerCount > 0) Log.SubscriberQueueInUse(transport._logger, queue, declared.ConsumerCount);
            await RabbitMQErrors.Guard(channel.QueueBindAsync(queue, exchange, bindingKey, cancellationToken: cancellationToken),
                transport.Options, $"bind {queue} to {exchange}").ConfigureAwait(false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += OnReceivedAsync;
            await RabbitMQErrors.Guard(channel.BasicConsumeAsync(queue, autoAck: true, consumerTag: "", noLocal: false, exclusive: false, arguments: null,
                consumer, cancellationToken), transport.Options, "consume from " + queue).ConfigureAwait(false);
        }

        private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            var envelope = AmqpMessage.ToKombuJson(delivery.Body.Span, delivery.BasicProperties, delivery.Exchange, delivery.RoutingKey,
                delivery.Redelivered, delivery.DeliveryTag.ToString(System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                await handler(new BroadcastMessage(delivery.Exchange, delivery.RoutingKey, envelope)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Log.BroadcastHandlerFailed(transport._logger, exchange, delivery.RoutingKey, e);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            transport._subscriptions.TryRemove(this, out _);
            if (_channel is { } channel) await DisposeQuietlyAsync(channel).ConfigureAwait(false);
        }
    }
}
