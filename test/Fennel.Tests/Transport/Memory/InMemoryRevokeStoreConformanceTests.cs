using Fennel.Testing;
using Fennel.Transport;
using Fennel.Transport.Memory;

namespace Fennel.Tests.Transport.Memory;

/// <summary>The in-memory broker keeps revokes as the shared suite expects (one broker, shared by every client).</summary>
public sealed class InMemoryRevokeStoreConformanceTests : RevokeStoreConformanceTests
{
    private readonly InMemoryTransport _broker = new();

    protected override Task<ITransport> CreateStoreAsync() => Task.FromResult<ITransport>(new SharedBroker(_broker));

    /// <summary>A second handle on one in-memory broker; disposing it leaves the broker alone.</summary>
    private sealed class SharedBroker(InMemoryTransport broker) : ITransport, IRevokeStore
    {
        public TransportCapabilities Capabilities => broker.Capabilities;
        public Task AddRevokesAsync(IReadOnlyList<Revocation> revocations, CancellationToken cancellationToken = default) => broker.AddRevokesAsync(revocations, cancellationToken);
        public Task<RevokePage> ReadRevokesAsync(string? cursor, int limit, CancellationToken cancellationToken = default) => broker.ReadRevokesAsync(cursor, limit, cancellationToken);
        public Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default) => broker.DeclareQueueAsync(queue, cancellationToken);
        public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) => broker.PublishAsync(message, cancellationToken);
        public Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default) => broker.PublishBatchAsync(messages, cancellationToken);
        public Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait, CancellationToken cancellationToken = default) =>
            broker.FetchAsync(queues, maxMessages, lease, wait, cancellationToken);
        public Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default) => broker.AckAsync(delivery, cancellationToken);
        public Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default) => broker.ReleaseAsync(delivery, notBefore, cancellationToken);
        public Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default) => broker.RenewAsync(deliveries, lease, cancellationToken);
        public Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default) => broker.DeadLetterAsync(delivery, reason, cancellationToken);
        public Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default) => broker.PurgeAsync(queue, cancellationToken);
        public Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default) => broker.GetQueueLengthAsync(queue, cancellationToken);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
