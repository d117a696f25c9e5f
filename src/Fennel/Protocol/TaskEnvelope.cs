using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

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
public sealed record TaskEnvelope(TaskMessage Message, string Exchange, string RoutingKey, string DeliveryTag, bool Redelivered = false)
{
    /// <summary>Encodes a message into an envelope addressed to <paramref name="routingKey"/>.</summary>
    /// <param name="message">The task message.</param>
    /// <param name="routingKey">The queue name (routing key on the default exchange).</param>
    /// <param name="now">The time used for the relative <c>expiration</c> property; pass the caller's clock.</param>
    /// <param name="exchange">The exchange; <c>""</c> publishes straight to the queue named by the routing key.</param>
    /// <param name="deliveryTag">The delivery tag; a new UUID when null.</param>
    public static byte[] Encode(TaskMessage message, string routingKey, DateTimeOffset now, string exchange = "", string? deliveryTag = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, TaskMessageCodec.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteBase64String("body", TaskMessageCodec.EncodeBody(message));
            writer.WriteString("content-encoding", TaskMessageCodec.ContentEncoding);
            writer.WriteString("content-type", TaskMessageCodec.ContentType);
            writer.WritePropertyName("headers");
            TaskMessageCodec.WriteHeaders(writer, message);
            writer.WriteStartObject("properties");
            writer.WriteString("correlation_id", message.Id);
            if (message.ReplyTo is null) writer.WriteNull("reply_to"); else writer.WriteString("reply_to", message.ReplyTo);
            writer.WriteNumber("delivery_mode", message.DeliveryMode);
            writer.WriteStartObject("delivery_info");
            writer.WriteString("exchange", exchange);
            writer.WriteString("routing_key", routingKey);
            writer.WriteEndObject();
            writer.WriteNumber("priority", message.Priority);
            if (message.Expires is { } expires)
            {
                var ms = Math.Max(0, (long)(expires - now).TotalMilliseconds);
                writer.WriteString("expiration", ms.ToString(CultureInfo.InvariantCulture));
            }
            writer.WriteString("body_encoding", "base64");
            writer.WriteString("delivery_tag", deliveryTag ?? Guid.NewGuid().ToString());
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes an envelope holding a task message.</summary>
    /// <exception cref="MessageFormatException">The bytes are not a kombu envelope holding a protocol v2 JSON task.</exception>
    public static TaskEnvelope Decode(ReadOnlySpan<byte> envelope)
    {
        var kombu = KombuEnvelope.Decode(envelope);
        var message = TaskMessageCodec.Decode(kombu.Headers, kombu.Properties, kombu.Body, kombu.ContentType, kombu.ContentEncoding);
        var info = kombu.Properties["delivery_info"] as JsonObject;
        var redelivered = kombu.Headers["redelivered"] is JsonValue r && r.TryGetValue(out bool rv) && rv
            || info?["redelivered"] is JsonValue r2 && r2.TryGetValue(out bool rv2) && rv2;
        return new TaskEnvelope(message, info is null ? "" : KombuEnvelope.Text(info, "exchange") ?? "",
            info is null ? "" : KombuEnvelope.Text(info, "routing_key") ?? "", KombuEnvelope.Text(kombu.Properties, "delivery_tag") ?? "", redelivered);
    }
}
