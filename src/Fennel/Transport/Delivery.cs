using Fennel.Protocol;

namespace Fennel.Transport;

/// <summary>
/// A message fetched under a lease. Settle it exactly once: ack, release or dead-letter.
/// </summary>
/// <remarks>
/// A transport hands over what it has: the stored bytes (Redis, SQLite and memory keep kombu's JSON form) or a message it
/// maps as it reads it (RabbitMQ's AMQP headers and properties). Either way <see cref="Envelope"/> is read on first use,
/// so one malformed message never fails a fetch: it comes out as a delivery like any other, and reading its envelope
/// throws <see cref="MessageFormatException"/> with the reason, for the worker to dead-letter it.
/// </remarks>
public sealed record Delivery
{
    private ReadOnlyMemory<byte>? _stored;
    private readonly Func<MessageEnvelope>? _read;
    private MessageEnvelope? _envelope;
    private MessageFormatException? _error;

    /// <summary>A delivery of a message stored in kombu's JSON form; <see cref="Envelope"/> decodes it on first use.</summary>
    /// <param name="queue">The queue it came from.</param>
    /// <param name="body">The stored bytes, as they are in the broker (they may be anything: nothing is checked here).</param>
    /// <param name="deliveryTag">The transport's handle for settling it.</param>
    /// <param name="deliveryCount">1 on first delivery; higher after leases lapsed (a consumer was lost).</param>
    public Delivery(string queue, ReadOnlyMemory<byte> body, string deliveryTag, int deliveryCount)
    {
        Queue = queue;
        _stored = body;
        DeliveryTag = deliveryTag;
        DeliveryCount = deliveryCount;
    }

    /// <summary>A delivery of a message the transport maps to an envelope itself, on first use of <see cref="Envelope"/>.</summary>
    /// <param name="queue">The queue it came from.</param>
    /// <param name="envelope">Reads the envelope; throws <see cref="MessageFormatException"/> when the message is malformed.</param>
    /// <param name="deliveryTag">The transport's handle for settling it.</param>
    /// <param name="deliveryCount">1 on first delivery; higher after leases lapsed (a consumer was lost).</param>
    public Delivery(string queue, Func<MessageEnvelope> envelope, string deliveryTag, int deliveryCount)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Queue = queue;
        _read = envelope;
        DeliveryTag = deliveryTag;
        DeliveryCount = deliveryCount;
    }

    /// <summary>The queue it came from.</summary>
    public string Queue { get; init; }

    /// <summary>The transport's handle for settling it.</summary>
    public string DeliveryTag { get; init; }

    /// <summary>1 on first delivery; higher after leases lapsed (a consumer was lost).</summary>
    public int DeliveryCount { get; init; }

    /// <summary>True when the message was delivered before and not settled (its earlier consumer was lost).</summary>
    public bool Redelivered => DeliveryCount > 1;

    /// <summary>The message, read on first use.</summary>
    /// <exception cref="MessageFormatException">The message is malformed (every time it is asked, with the same reason).</exception>
    public MessageEnvelope Envelope
    {
        get
        {
            if (_envelope is not null) return _envelope;
            if (_error is null)
            {
                try
                {
                    return _envelope = _read is not null ? _read() : KombuEnvelope.Decode(_stored!.Value.Span);
                }
                catch (MessageFormatException ex)
                {
                    _error = ex;
                }
            }
            throw new MessageFormatException(_error.Message, _error);
        }
    }

    /// <summary>
    /// The message in kombu's JSON form: the stored bytes where the broker keeps that form (unchanged, even when
    /// malformed), else <see cref="Envelope"/> encoded on first use.
    /// </summary>
    /// <exception cref="MessageFormatException">The transport mapped the message itself and it is malformed.</exception>
    public ReadOnlyMemory<byte> Body => _stored ??= KombuEnvelope.Encode(Envelope);
}
