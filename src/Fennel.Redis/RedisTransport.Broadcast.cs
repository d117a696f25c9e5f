using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// kombu's fan-out on Redis: <c>PUBLISH /db.exchange/routing_key</c> and <c>PSUBSCRIBE</c> with the binding key's
/// <c>#</c> read as <c>*</c> (<c>/3.celeryev/worker.*</c>, <c>/3.celery.pidbox</c>). Nothing is stored: a message
/// nobody is subscribed to is gone, as with Celery.
/// </summary>
public sealed partial class RedisTransport
{
    /// <inheritdoc />
    public async Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(routingKey);
        var database = await DatabaseAsync().ConfigureAwait(false);
        await _connection.Guard(database.PublishAsync(RedisChannel.Literal(_keys.FanoutChannel(exchange, routingKey)), body), "broadcast to " + exchange)
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IAsyncDisposable> SubscribeAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler,
        string? subscriberName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(bindingKey);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var subscriber = (await _connection.GetAsync().ConfigureAwait(false)).GetSubscriber();
        var pattern = RedisChannel.Pattern(_keys.FanoutChannel(exchange, bindingKey.Replace('#', '*')));
        var messages = await _connection.Guard(subscriber.SubscribeAsync(pattern), "subscribe to " + exchange).ConfigureAwait(false);
        var prefix = _keys.FanoutChannel(exchange, "");
        messages.OnMessage(async message =>
        {
            var channel = (string)message.Channel!;
            var routingKey = channel.Length > prefix.Length + 1 ? channel[(prefix.Length + 1)..] : "";
            try
            {
                await handler(new BroadcastMessage(exchange, routingKey, (byte[])message.Message!)).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A failing handler must not end the subscription: log and go on with the next message.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.BroadcastHandlerFailed(_logger, exchange, routingKey, e);
            }
        });
        return new Subscription(messages);
    }

    private sealed class Subscription(ChannelMessageQueue messages) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await messages.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (RedisErrors.IsRedis(e))
            {
                // The connection is gone; so is the subscription.
            }
        }
    }
}
