namespace Fennel.Transport;

/// <summary>A message fetched under a lease. Settle it exactly once: ack, release or dead-letter.</summary>
/// <param name="Queue">The queue it came from.</param>
/// <param name="Body">The encoded message.</param>
/// <param name="DeliveryTag">The transport's handle for settling it.</param>
/// <param name="DeliveryCount">1 on first delivery; higher after leases lapsed (a consumer was lost).</param>
public sealed record Delivery(string Queue, ReadOnlyMemory<byte> Body, string DeliveryTag, int DeliveryCount)
{
    /// <summary>True when the message was delivered before and not settled (its earlier consumer was lost).</summary>
    public bool Redelivered => DeliveryCount > 1;
}
