using System.Threading.Channels;

namespace Fennel.Transport.Memory;

// Broadcast inside one process: each subscriber has its own unbounded channel and a loop that runs its handler one
// message at a time, so a slow handler delays only itself. A message nobody matches is gone, as on a real broker.
public sealed partial class InMemoryTransport : IBroadcastTransport
{
    private readonly List<MemorySubscription> _subscriptions = [];

    /// <inheritdoc />
    public Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(routingKey);
        var kind = BroadcastRouting.KindOf(exchange);
        var message = new BroadcastMessage(exchange, routingKey, body.ToArray());
        lock (_gate)
        {
            foreach (var subscription in _subscriptions)
            {
                if (subscription.Exchange == exchange && BroadcastRouting.Matches(kind, subscription.BindingKey, routingKey))
                {
                    subscription.Inbox.Writer.TryWrite(message);
                }
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IAsyncDisposable> SubscribeAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler,
        string? subscriberName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(bindingKey);
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new MemorySubscription(this, exchange, bindingKey, handler);
        lock (_gate) _subscriptions.Add(subscription);
        return Task.FromResult<IAsyncDisposable>(subscription);
    }

    private sealed class MemorySubscription : IAsyncDisposable
    {
        private readonly InMemoryTransport _transport;
        private readonly Task _loop;

        public MemorySubscription(InMemoryTransport transport, string exchange, string bindingKey, Func<BroadcastMessage, Task> handler)
        {
            _transport = transport;
            Exchange = exchange;
            BindingKey = bindingKey;
            _loop = Task.Run(async () =>
            {
                await foreach (var message in Inbox.Reader.ReadAllAsync().ConfigureAwait(false))
                {
                    try
                    {
                        await handler(message).ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // As on a real broker: a failing handler does not end the subscription.
                    catch (Exception)
#pragma warning restore CA1031
                    {
                    }
                }
            });
        }

        public string Exchange { get; }

        public string BindingKey { get; }

        public Channel<BroadcastMessage> Inbox { get; } = Channel.CreateUnbounded<BroadcastMessage>(new() { SingleReader = true });

        public async ValueTask DisposeAsync()
        {
            lock (_transport._gate) _transport._subscriptions.Remove(this);
            Inbox.Writer.TryComplete();
            await _loop.ConfigureAwait(false);
        }
    }
}
