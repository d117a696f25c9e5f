using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

/// <summary>
/// Converts between kombu's JSON envelope (what the rest of Fennel reads and writes, see <see cref="KombuEnvelope"/>)
/// and an AMQP message: the body, the headers as a field table, and the properties Celery sets (correlation_id,
/// reply_to, delivery_mode, priority, content type and encoding, expiration).
/// </summary>
internal static class AmqpMessage
{
    /// <summary>
    /// Fennel's own header: how many earlier deliveries of this message were lost (their consumer died or its lease
    /// lapsed). Classic queues do not count redeliveries, so Fennel republishes a redelivered message with this header
    /// raised. It never reaches the task: the transport strips it from the envelope.
    /// </summary>
    public const string LostDeliveriesHeader = "fennel-lost-deliveries";

    /// <summary>The header RabbitMQ.Client adds to every message it publishes with confirm tracking; not the task's.</summary>
    public const string PublishSequenceHeader = "x-dotnet-pub-seq-no";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The AMQP body and properties of a kombu envelope.</summary>
    /// <exception cref="MessageFormatException">The bytes are not a kombu envelope.</exception>
    public static (BasicProperties Properties, byte[] Body) FromEnvelope(ReadOnlySpan<byte> envelope)
    {
        var kombu = KombuEnvelope.Decode(envelope);
        var properties = new BasicProperties
        {
            ContentType = kombu.ContentType,
            ContentEncoding = kombu.ContentEncoding,
            Headers = ToTable(kombu.Headers),
            DeliveryMode = DeliveryModes.Persistent,
        };
        foreach (var (name, value) in kombu.Properties)
        {
            switch (name)
            {
                case "correlation_id" when Text(value) is { } id:
                    properties.CorrelationId = id;
                    break;
                case "reply_to" when Text(value) is { } replyTo:
                    properties.ReplyTo = replyTo;
                    break;
                case "delivery_mode" when value is JsonValue v && v.TryGetValue(out int mode):
                    properties.DeliveryMode = mode == 1 ? DeliveryModes.Transient : DeliveryModes.Persistent;
                    break;
                case "priority" when value is JsonValue v && v.TryGetValue(out int priority):
                    properties.Priority = (byte)Math.Clamp(priority, 0, 255);
                    break;
                case "expiration" when Text(value) is { } expiration:
                    properties.Expiration = expiration;
                    break;
            }
        }
        return (properties, kombu.Body);
    }

    /// <summary>
    /// The kombu envelope of a received AMQP message, as the rest of Fennel reads it (and as kombu's Redis transport would
    /// have stored it): the body base64, <c>delivery_info</c> with exchange, routing key and the redelivered flag.
    /// </summary>
    public static byte[] ToEnvelope(ReadOnlySpan<byte> body, IReadOnlyBasicProperties properties, string exchange, string routingKey,
        bool redelivered, string deliveryTag)
    {
        var buffer = new ArrayBufferWriter<byte>(body.Length * 4 / 3 + 512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteBase64String("body", body);
            writer.WriteString("content-encoding", properties.ContentEncoding ?? "utf-8");
            writer.WriteString("content-type", properties.ContentType ?? "application/json");
            writer.WriteStartObject("headers");
            if (properties.Headers is { } headers)
            {
                foreach (var (name, value) in headers)
                {
                    if (name is LostDeliveriesHeader or PublishSequenceHeader) continue;
                    writer.WritePropertyName(name);
                    WriteValue(writer, value);
                }
            }
            writer.WriteEndObject();
            writer.WriteStartObject("properties");
            if (properties.CorrelationId is { } correlation) writer.WriteString("correlation_id", correlation);
            if (properties.ReplyTo is { } replyTo) writer.WriteString("reply_to", replyTo); else writer.WriteNull("reply_to");
            writer.WriteNumber("delivery_mode", properties.DeliveryMode == DeliveryModes.Transient ? 1 : 2);
            writer.WriteStartObject("delivery_info");
            writer.WriteString("exchange", exchange);
            writer.WriteString("routing_key", routingKey);
            if (redelivered) writer.WriteBoolean("redelivered", true);
            writer.WriteEndObject();
            writer.WriteNumber("priority", properties.Priority);
            if (properties.Expiration is { } expiration) writer.WriteString("expiration", expiration);
            writer.WriteString("body_encoding", "base64");
            writer.WriteString("delivery_tag", deliveryTag);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>How many earlier deliveries were lost, from <see cref="LostDeliveriesHeader"/>.</summary>
    public static int LostDeliveries(IReadOnlyBasicProperties properties) =>
        properties.Headers is { } headers && headers.TryGetValue(LostDeliveriesHeader, out var value) ? value switch
        {
            int i => i,
            long l => (int)Math.Clamp(l, 0, int.MaxValue),
            byte[] b when int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => 0,
        } : 0;

    /// <summary>A copy of <paramref name="properties"/> to publish again, with <see cref="LostDeliveriesHeader"/> set to <paramref name="lostDeliveries"/>.</summary>
    public static BasicProperties Republish(IReadOnlyBasicProperties properties, int lostDeliveries, string? expiration = null)
    {
        var copy = new BasicProperties(properties)
        {
            Headers = properties.Headers is { } headers ? new Dictionary<string, object?>(headers) : new Dictionary<string, object?>(),
            Expiration = expiration ?? properties.Expiration,
        };
        if (lostDeliveries > 0) copy.Headers[LostDeliveriesHeader] = lostDeliveries; else copy.Headers.Remove(LostDeliveriesHeader);
        if (copy.Headers.Count == 0) copy.Headers = null;
        return copy;
    }

    /// <summary>
    /// A JSON object as an AMQP field table. Integers within 32 bits are written as <c>I</c>; larger ones as RabbitMQ's
    /// signed 64-bit <c>l</c>, never py-amqp's <c>L</c>, which RabbitMQ.Client consumers cannot read.
    /// </summary>
    public static Dictionary<string, object?> ToTable(JsonObject json)
    {
        var table = new Dictionary<string, object?>(json.Count, StringComparer.Ordinal);
        foreach (var (name, value) in json) table[name] = ToField(value);
        return table;
    }

    private static object? ToField(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => ToTable(obj),
        JsonArray array => array.Select(ToField).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when value.TryGetValue(out int i) => i,
            JsonValueKind.Number when value.TryGetValue(out long l) => l,
            JsonValueKind.Number => value.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case byte[] bytes: writer.WriteStringValue(Encoding.UTF8.GetString(bytes)); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int i: writer.WriteNumberValue(i); break;
            case long l: writer.WriteNumberValue(l); break;
            case uint u: writer.WriteNumberValue(u); break;
            case short s16: writer.WriteNumberValue(s16); break;
            case ushort u16: writer.WriteNumberValue(u16); break;
            case byte u8: writer.WriteNumberValue(u8); break;
            case sbyte s8: writer.WriteNumberValue(s8); break;
            case double d: writer.WriteNumberValue(d); break;
            case float f: writer.WriteNumberValue(f); break;
            case decimal m: writer.WriteNumberValue(m); break;
            case AmqpTimestamp t: writer.WriteNumberValue(t.UnixTime); break;
            case IDictionary<string, object?> table:
                writer.WriteStartObject();
                foreach (var (name, item) in table)
                {
                    writer.WritePropertyName(name);
                    WriteValue(writer, item);
                }
                writer.WriteEndObject();
                break;
            case System.Collections.IEnumerable list:
                writer.WriteStartArray();
                foreach (var item in list) WriteValue(writer, item);
                writer.WriteEndArray();
                break;
            default: writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
