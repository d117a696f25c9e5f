using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Transport;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

/// <summary>
/// Maps a <see cref="MessageEnvelope"/> to an AMQP message and back, field by field: the body, the headers as a field table, and the properties Celery sets (correlation_id,
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

    /// <summary>The AMQP properties of an envelope: headers as a field table, and the properties Celery sets.</summary>
    public static BasicProperties ToProperties(MessageEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return new BasicProperties
        {
            ContentType = envelope.ContentType,
            ContentEncoding = envelope.ContentEncoding,
            Headers = ToTable(envelope.Headers),
            DeliveryMode = envelope.DeliveryMode == 1 ? DeliveryModes.Transient : DeliveryModes.Persistent,
            CorrelationId = envelope.CorrelationId,
            ReplyTo = envelope.ReplyTo,
            Priority = (byte)Math.Clamp(envelope.Priority, 0, 255),
            Expiration = envelope.Expiration,
        };
    }

    /// <summary>The AMQP body and properties of an envelope in kombu's JSON form (broadcasts, which still come as bytes).</summary>
    /// <exception cref="MessageFormatException">The bytes are not a kombu envelope.</exception>
    public static (BasicProperties Properties, byte[] Body) FromEnvelope(ReadOnlySpan<byte> envelope)
    {
        var kombu = KombuEnvelope.Decode(envelope);
        return (ToProperties(kombu), kombu.Body);
    }

    /// <summary>
    /// The envelope of a received AMQP message, mapped field by field (no JSON in between): headers from the field table
    /// (without Fennel's own <see cref="LostDeliveriesHeader"/> and the client's <see cref="PublishSequenceHeader"/>),
    /// <c>delivery_info</c> from the exchange, routing key and redelivered flag.
    /// </summary>
    /// <param name="body">The AMQP body.</param>
    /// <param name="properties">The AMQP properties.</param>
    /// <param name="exchange">The exchange it was published to.</param>
    /// <param name="routingKey">Its routing key.</param>
    /// <param name="redelivered">True when it was delivered before.</param>
    /// <param name="deliveryTag">The delivery tag to show.</param>
    /// <param name="strict">
    /// True for a message a worker runs: a header that is not valid UTF-8 or nests deeper than
    /// <see cref="KombuEnvelope.MaxDepth"/> is a <see cref="MessageFormatException"/>. False to show a message whatever it
    /// holds (dead letters, broadcasts): such text is decoded with replacement characters, such nesting cut off.
    /// </param>
    /// <exception cref="MessageFormatException">Strict, and a header cannot be read.</exception>
    public static MessageEnvelope ToEnvelope(byte[] body, IReadOnlyBasicProperties properties, string exchange, string routingKey,
        bool redelivered, string deliveryTag, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var headers = new JsonObject();
        if (properties.Headers is { } table)
        {
            foreach (var (name, value) in table)
            {
                if (name is LostDeliveriesHeader or PublishSequenceHeader) continue;
                headers[name] = ToNode(value, name, 1, strict);
            }
        }
        return new MessageEnvelope
        {
            Headers = headers,
            Body = body,
            ContentType = properties.ContentType ?? TaskMessageCodec.ContentType,
            ContentEncoding = properties.ContentEncoding ?? TaskMessageCodec.ContentEncoding,
            CorrelationId = properties.CorrelationId,
            ReplyTo = properties.ReplyTo,
            DeliveryMode = properties.DeliveryMode == DeliveryModes.Transient ? 1 : 2,
            Priority = properties.Priority,
            Expiration = properties.Expiration,
            Exchange = exchange,
            RoutingKey = routingKey,
            DeliveryTag = deliveryTag,
            Redelivered = redelivered,
        };
    }

    /// <summary>
    /// An envelope in kombu's JSON form, as the rest of Fennel reads broadcasts and dead letters (and as kombu's Redis
    /// transport would have stored it). Never throws for what a header holds (see <see cref="ToEnvelope"/>).
    /// </summary>
    public static byte[] ToKombuJson(ReadOnlySpan<byte> body, IReadOnlyBasicProperties properties, string exchange, string routingKey,
        bool redelivered, string deliveryTag) =>
        KombuEnvelope.Encode(ToEnvelope(body.ToArray(), properties, exchange, routingKey, redelivered, deliveryTag, strict: false));

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

    private static JsonNode? ToNode(object? value, string name, int depth, bool strict)
    {
        if (depth > KombuEnvelope.MaxDepth)
        {
            return strict ? throw new MessageFormatException($"Header '{name}' nests deeper than {KombuEnvelope.MaxDepth} levels.") : null;
        }
        switch (value)
        {
            case null: return null;
            case byte[] bytes:
                if (!strict) return Encoding.UTF8.GetString(bytes);
                try
                {
                    return StrictUtf8.GetString(bytes);
                }
                catch (DecoderFallbackException ex)
                {
                    throw new MessageFormatException($"Header '{name}' is not valid UTF-8 text.", ex);
                }
            case string s: return s;
            case bool b: return b;
            case int i: return i;
            case long l: return l;
            // Every integer as int or long and every float as double, the CLR types the codecs read numbers as.
            case uint u: return (long)u;
            case short s16: return (int)s16;
            case ushort u16: return (int)u16;
            case byte u8: return (int)u8;
            case sbyte s8: return (int)s8;
            case double d when double.IsFinite(d): return d;
            case float f when float.IsFinite(f): return (double)f;
            case double or float:
                return strict ? throw new MessageFormatException($"Header '{name}' is not a finite number.") : null;
            case decimal m: return m;
            case AmqpTimestamp t: return t.UnixTime;
            case IDictionary<string, object?> table:
                var obj = new JsonObject();
                foreach (var (key, item) in table) obj[key] = ToNode(item, name, depth + 1, strict);
                return obj;
            case System.Collections.IEnumerable list:
                var array = new JsonArray();
                foreach (var item in list) array.Add(ToNode(item, name, depth + 1, strict));
                return array;
            default: return Convert.ToString(value, CultureInfo.InvariantCulture);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

}
