using System.Collections.Concurrent;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// kombu's broadcast on Redis. Topic and fanout exchanges (<c>celeryev</c>, <c>celery.pidbox</c>) are pub/sub:
/// <c>PUBLISH /db.exchange/routing_key</c> and <c>PSUBSCRIBE</c> with the binding key's <c>#</c> read as <c>*</c>
/// (<c>/3.celeryev/worker.*</c>, <c>/3.celery.pidbox</c>); nothing is stored, so a message nobody is subscribed to is
/// gone, as with Celery. The direct exchange (<c>reply.celery.pidbox</c>) is lists, as kombu routes any direct exchange:
/// a subscriber adds <c>key\x06\x16\x06\x16key.reply.celery.pidbox</c> to <c>_kombu.binding.reply.celery.pidbox</c> and
/// pops that list; a publisher pushes to the list of every binding with its key, so replies wait for a slow client.
/// </summary>
public sealed partial class RedisTransport
{
    /// <summary>How often a direct subscriber looks at its list: kombu's client blocks on it, a multiplexer must not.</summary>
    private static readonly TimeSpan DirectPollInterval = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<DirectSubscription, bool> _directSubscriptions = new();
    private readonly WakeUp _directPushed = new();

    /// <inheritdoc />
    public async Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(routingKey);
        var database = await DatabaseAsync().ConfigureAwait(false);
        if (BroadcastRouting.KindOf(exchange) == BroadcastExchangeKind.Direct)
        {
            await PushDirectAsync(database, exchange, routingKey, body).ConfigureAwait(false);
            return;
        }
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
        if (BroadcastRouting.KindOf(exchange) == BroadcastExchangeKind.Direct)
        {
            return await SubscribeDirectAsync(exchange, bindingKey, handler).ConfigureAwait(false);
        }
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

    /// <summary>
    /// kombu's publish to a direct exchange: the queues bound with exactly <paramref name="routingKey"/>, from the
    /// exchange's binding set, each get the envelope with <c>LPUSH</c>. Without a binding nothing is sent, as kombu
    /// (no dead-letter queue) sends nothing.
    /// </summary>
    private async Task PushDirectAsync(IDatabase database, string exchange, string routingKey, ReadOnlyMemory<byte> body)
    {
        var members = await _connection.Guard(database.SetMembersAsync(RedisKeys.Binding(exchange)), "read the bindings of " + exchange)
            .ConfigureAwait(false);
        var queues = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            // routing_key \x06\x16 pattern \x06\x16 queue
            var parts = ((string)member!).Split(RedisKeys.Separator);
            if (parts.Length == 3 && string.Equals(parts[0], routingKey, StringComparison.Ordinal)) queues.Add(parts[2]);
        }
        if (queues.Count == 0) return;
        // Replies carry priority 0, so they go to the queue's base list (kombu's list for priority steps 0-2).
        await _connection.Guard(Task.WhenAll(queues.Select(queue => database.ListLeftPushAsync(RedisKeys.List(queue, 0), body))),
            $"send to {exchange} with routing key {routingKey}").ConfigureAwait(false);
        _directPushed.Fire();
    }

    /// <summary>kombu's queue for a direct binding: <c>&lt;key&gt;.&lt;exchange&gt;</c>, as Celery names its reply queue.</summary>
    private static string DirectQueue(string exchange, string bindingKey) => $"{bindingKey}.{exchange}";

    private async Task<IAsyncDisposable> SubscribeDirectAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var subscription = new DirectSubscription(this, database, exchange, bindingKey, handler);
        await _connection.Guard(subscription.BindAsync(), "bind to " + exchange).ConfigureAwait(false);
        _directSubscriptions[subscription] = true;
        subscription.Start();
        return subscription;
    }

    /// <summary>Ends the direct subscriptions (unbinding them, as a kombu client does) before the connection closes.</summary>
    private async Task StopDirectSubscriptionsAsync()
    {
        foreach (var subscription in _directSubscriptions.Keys) await subscription.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A subscriber on a direct exchange: its binding in kombu's set and a loop that pops its list (the consume end,
    /// <c>RPOP</c>, as kombu's <c>BRPOP</c>) every <see cref="DirectPollInterval"/>, or at once after a push from this
    /// process. Disposing removes the binding and deletes the lists, as kombu deletes an auto-delete queue.
    /// </summary>
    private sealed class DirectSubscription(RedisTransport transport, IDatabase database, string exchange, string bindingKey,
        Func<BroadcastMessage, Task> handler) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stopping = new();
        private readonly string _queue = DirectQueue(exchange, bindingKey);
        private Task _loop = Task.CompletedTask;
        private int _disposed;

        private RedisValue Member => RedisKeys.BindingMember(bindingKey, _queue);

        public Task BindAsync() => database.SetAddAsync(RedisKeys.Binding(exchange), Member);

        public void Start() => _loop = Task.Run(RunAsync);

        private async Task RunAsync()
        {
            var token = _stopping.Token;
            var rebind = false;
            while (!token.IsCancellationRequested)
            {
                var pushed = transport._directPushed.Next;
                RedisValue popped;
                try
                {
                    // After a failure the server may have restarted and lost the binding: add it again (a set: idempotent).
                    if (rebind) await BindAsync().ConfigureAwait(false);
                    rebind = false;
                    popped = await database.ListRightPopAsync(RedisKeys.List(_queue, 0)).ConfigureAwait(false);
                }
                catch (Exception e) when (RedisErrors.IsRedis(e) || e is ObjectDisposedException)
                {
                    if (transport.IsDisposed || token.IsCancellationRequested) return;
                    Log.DirectPollFailed(transport._logger, _queue, e);
                    rebind = true;
                    popped = RedisValue.Null;
                }

                if (popped.HasValue)
                {
                    await DeliverAsync((byte[])popped!).ConfigureAwait(false);
                    continue;
                }
                // A cancelled delay completes the wait too; the loop condition then ends it.
                await Task.WhenAny(pushed, Task.Delay(DirectPollInterval, transport._time, token)).ConfigureAwait(false);
            }
        }

        private async Task DeliverAsync(byte[] body)
        {
            try
            {
                await handler(new BroadcastMessage(exchange, bindingKey, body)).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A failing handler must not end the subscription: log and go on with the next message.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.BroadcastHandlerFailed(transport._logger, exchange, bindingKey, e);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            transport._directSubscriptions.TryRemove(this, out _);
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            _stopping.Dispose();
            try
            {
                await database.SetRemoveAsync(RedisKeys.Binding(exchange), Member).ConfigureAwait(false);
                await database.KeyDeleteAsync([.. RedisKeys.PrioritySteps.Select(step => RedisKeys.List(_queue, step))]).ConfigureAwait(false);
            }
            catch (Exception e) when (RedisErrors.IsRedis(e) || e is ObjectDisposedException)
            {
                // The connection is gone: the binding stays, as it does when a kombu client dies; a later reply lands in a list nobody reads.
                Log.DirectUnbindFailed(transport._logger, _queue, e);
            }
        }
    }
}
