using System.Globalization;
using Fennel.Transport;

namespace Fennel.Protocol;

/// <summary>
/// kombu's JSON envelope, one string per message: <c>{"body": base64, "content-encoding", "content-type",
/// "headers", "properties": {..., "delivery_info", "body_encoding": "base64", "delivery_tag"}}</c>.
/// The Redis transport stores it in lists exactly as Celery does; the SQLite transport stores the same bytes.
/// </summary>
/// <param name="Message">The task message.</param>
/// <param name="Exchange">The exchange it was published to (<c>""</c> for direct queue delivery).</param>
/// <param name="RoutingKey">The routing key (the queue name for direct delivery).</param>
/// <param name="DeliveryTag">The publisher's delivery tag (a UUID string).</param>
/// <param name="Redelivered">True when a broker gave this message back after a lost consumer.</param>
internal sealed record TaskEnvelope(TaskMessage Message, string Exchange, string RoutingKey, string DeliveryTag, bool Redelivered = false)
{
    /// <summary>The envelope of a task message addressed to <paramref name="routingKey"/>, as Celery sends it.</summary>
    /// <param name="message">The task message.</param>
    /// <param name="routingKey">The queue name (routing key on the default exchange).</param>
    /// <param name="now">The time used for the relative <c>expiration</c> property; pass the caller's clock.</param>
    /// <param name="exchange">The exchange; <c>""</c> publishes straight to the queue named by the routing key.</param>
    /// <param name="deliveryTag">The delivery tag; a new UUID when null.</param>
    public static MessageEnvelope Create(TaskMessage message, string routingKey, DateTimeOffset now, string exchange = "", string? deliveryTag = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new MessageEnvelope(writer => TaskMessageCodec.WriteHeaders(writer, message), () => TaskMessageCodec.EncodeHeaders(message),
            TaskMessageCodec.EncodeBody(message))
        {
            CorrelationId = message.Id,
            ReplyTo = message.ReplyTo,
            DeliveryMode = message.DeliveryMode,
            Priority = message.Priority,
            Expiration = message.Expires is { } expires
                ? Math.Max(0, (long)(expires - now).TotalMilliseconds).ToString(CultureInfo.InvariantCulture)
                : null,
            Exchange = exchange,
            RoutingKey = routingKey,
            DeliveryTag = deliveryTag ?? Guid.NewGuid().ToString(),
        };
    }

    /// <summary>Encodes a message into kombu's JSON envelope addressed to <paramref name="routingKey"/> (see <see cref="Create"/>).</summary>
    public static byte[] Encode(TaskMessage message, string routingKey, DateTimeOffset now, string exchange = "", string? deliveryTag = null) =>
        KombuEnvelope.Encode(Create(message, routingKey, now, exchange, deliveryTag));

    /// <summary>Decodes kombu's JSON envelope holding a task message.</summary>
    /// <exception cref="MessageFormatException">The bytes are not a kombu envelope holding a protocol v2 JSON task.</exception>
    public static TaskEnvelope Decode(ReadOnlySpan<byte> envelope) => Decode(KombuEnvelope.Decode(envelope));

    /// <summary>Reads the task message in an envelope.</summary>
    /// <exception cref="MessageFormatException">The envelope does not hold a protocol v2 JSON task.</exception>
    public static TaskEnvelope Decode(MessageEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return new TaskEnvelope(TaskMessageCodec.Decode(envelope), envelope.Exchange, envelope.RoutingKey, envelope.DeliveryTag ?? "", envelope.Redelivered);
    }
}
