namespace Fennel.Transport;

/// <summary>
/// The small contract every broker implements: publish, fetch under a lease, settle (ack, release, dead-letter),
/// renew leases, declare, purge, count. Messages are <see cref="MessageEnvelope"/>s (kombu's model of headers, properties and body), which each transport stores or maps in its own form;
/// routing, decoding and retries happen above this line. Every transport passes the shared conformance suite.
/// </summary>
/// <remarks>
/// A fetched message belongs to the caller until its lease lapses. While the caller renews the lease
/// (<see cref="RenewAsync"/>) nobody else receives it; once it lapses the message is delivered again with
/// <see cref="Delivery.DeliveryCount"/> one higher. Implementations are safe for concurrent use.
/// </remarks>
public interface ITransport : IAsyncDisposable
{
    /// <summary>What this transport can do beyond the core contract.</summary>
    TransportCapabilities Capabilities { get; }

    /// <summary>Creates the queue if it does not exist. Publishing and fetching also create queues on demand.</summary>
    Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default);

    /// <summary>Publishes one message; completes when the broker holds it durably.</summary>
    Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default);

    /// <summary>Publishes many messages in as few round trips as the broker allows.</summary>
    Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes up to <paramref name="maxMessages"/> ready messages from <paramref name="queues"/>, each leased to the caller
    /// for <paramref name="lease"/>. Waits up to <paramref name="wait"/> when none is ready; returns an empty list then.
    /// Across the given queues, higher priority first, then oldest first.
    /// </summary>
    Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait,
        CancellationToken cancellationToken = default);

    /// <summary>Removes a message for good: the task finished (successfully or not) and its outcome is stored.</summary>
    Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives a message back unstarted; it does not count as a delivery. With <paramref name="notBefore"/> it stays invisible
    /// until then (a parked ETA task, on transports with <see cref="TransportCapabilities.DelayedDelivery"/>).
    /// </summary>
    Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease of messages the caller still holds. Messages it no longer holds are ignored.</summary>
    Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves a message to the dead-letter store with the reason, removing it from its queue. A caller whose lease lapsed
    /// (the message went to someone else) changes nothing.
    /// </summary>
    Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every waiting message of the queue (ready or delayed, lapsed leases included); returns how many.
    /// Messages held under a live lease (running tasks) are left alone.
    /// </summary>
    Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default);

    /// <summary>How many messages wait in the queue (ready or delayed, not leased).</summary>
    Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default);
}

/// <summary>
/// What a transport offers beyond the core contract that no interface says. Optional features with an API of their own
/// are interfaces a transport implements, and callers test for them: <see cref="IDeadLetterStore"/>,
/// <see cref="IBroadcastTransport"/>, <see cref="IRevokeStore"/>, <see cref="ISharedRateLimiter"/>.
/// </summary>
[Flags]
public enum TransportCapabilities
{
    /// <summary>The core contract only.</summary>
    None = 0,

    /// <summary>
    /// <see cref="ITransport.ReleaseAsync"/> with a time keeps a message in the broker, invisible until due, so workers
    /// never hold far-future ETA tasks in memory (they park them).
    /// </summary>
    DelayedDelivery = 1,

    /// <summary>
    /// <see cref="OutgoingMessage.NotBefore"/> keeps a published message invisible until due. Without it the message is
    /// visible at once and its consumer honours the ETA in the message (a Fennel worker parks it; Celery holds it), which
    /// is what Python consumers sharing a Redis broker expect.
    /// </summary>
    DelayedPublish = 8,
}
