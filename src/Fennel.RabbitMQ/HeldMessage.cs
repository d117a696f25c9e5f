using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

/// <summary>
/// A message this process received and has not settled: waiting in the fetch buffer, or leased to a caller. The broker
/// holds it unacknowledged on <see cref="Channel"/> until it is acked or nacked there, or the channel closes — unless
/// it was handed off to a lease queue (<see cref="LeaseQueue"/>) because it ran for long.
/// </summary>
internal sealed class HeldMessage
{
    public required string Tag { get; init; }

    public required string Queue { get; init; }

    public required IChannel Channel { get; init; }

    public required ulong DeliveryTag { get; init; }

    /// <summary>The consumer channel's generation; a message from an earlier one can no longer be settled.</summary>
    public required int Generation { get; init; }

    public required byte[] Body { get; init; }

    public required IReadOnlyBasicProperties Properties { get; init; }

    /// <summary>The exchange it was published to.</summary>
    public required string Exchange { get; init; }

    /// <summary>The routing key it was published with.</summary>
    public required string RoutingKey { get; init; }

    /// <summary>
    /// The envelope handed to the caller, mapped from the AMQP message when first asked (a malformed header is a
    /// <see cref="Protocol.MessageFormatException"/> then, for the worker to dead-letter, never a failed fetch).
    /// </summary>
    public Transport.MessageEnvelope ReadEnvelope() =>
        AmqpMessage.ToEnvelope(Body, Properties, Exchange, RoutingKey, DeliveryCount > 1, Tag);

    /// <summary>1 for a first delivery; one more for each earlier delivery that was lost.</summary>
    public required int DeliveryCount { get; init; }

    public required long Sequence { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }

    public byte Priority => Properties.Priority;

    /// <summary>When the caller's lease ends (while leased).</summary>
    public DateTimeOffset LeaseEnd { get; set; }

    /// <summary>The lease queue holding a copy of a long-running message, after the original was acked.</summary>
    public string? LeaseQueue { get; set; }

    /// <summary>When the copy in <see cref="LeaseQueue"/> expires back to its queue.</summary>
    public DateTimeOffset LeaseCopyExpires { get; set; }

    /// <summary>Set once a hand-off was started, so the lease watcher does not start a second one.</summary>
    public int Busy;

    /// <summary>Serialises settling with hand-off and rotation: the broker closes a channel that acks a tag twice.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);
}
