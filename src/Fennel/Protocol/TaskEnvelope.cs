using System.Buffers;
using System.Globalization;
using System.Text;
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

    /// <summary>Decodes an envelope.</summary>
    /// <exception cref="MessageFormatException">The bytes are not a kombu envelope holding a protocol v2 JSON task.</exception>
    public static TaskEnvelope Decode(ReadOnlySpan<byte> envelope)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(envelope) as JsonObject
                ?? throw new MessageFormatException("The message is not a JSON object; expected a kombu envelope {\"body\", \"headers\", \"properties\", ...}.");
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException($"The message is not valid JSON: {ex.Message}", ex);
        }

        var headers = root["headers"] as JsonObject
            ?? throw new MessageFormatException("The envelope has no 'headers' object; this is not a Celery protocol v2 task message.");
        var properties = root["properties"] as JsonObject ?? [];
        var bodyText = root["body"] is JsonValue b && b.TryGetValue(out string? s) ? s
            : throw new MessageFormatException("The envelope has no 'body' string.");
        var bodyEncoding = properties["body_encoding"] is JsonValue be && be.TryGetValue(out string? enc) ? enc : null;

        byte[] body;
        if (string.Equals(bodyEncoding, "base64", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                body = Convert.FromBase64String(bodyText);
            }
            catch (FormatException ex)
            {
                throw new MessageFormatException("The envelope says body_encoding=base64 but the body is not base64.", ex);
            }
        }
        else
        {
            body = Encoding.UTF8.GetBytes(bodyText);
        }

        var message = TaskMessageCodec.Decode(headers, properties, body,
            Text(root, "content-type") ?? TaskMessageCodec.ContentType, Text(root, "content-encoding") ?? TaskMessageCodec.ContentEncoding);
        var info = properties["delivery_info"] as JsonObject;
        var redelivered = headers["redelivered"] is JsonValue r && r.TryGetValue(out bool rv) && rv
            || info?["redelivered"] is JsonValue r2 && r2.TryGetValue(out bool rv2) && rv2;
        return new TaskEnvelope(message, info is null ? "" : Text(info, "exchange") ?? "",
            info is null ? "" : Text(info, "routing_key") ?? "", Text(properties, "delivery_tag") ?? "", redelivered);
    }

    private static string? Text(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
