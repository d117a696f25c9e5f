using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Transport;

namespace Fennel.Protocol;

/// <summary>
/// kombu's JSON form of a <see cref="MessageEnvelope"/>, as Celery keeps it on key-value brokers (Redis lists, and the
/// same bytes in SQLite and memory): <c>{"body": base64, "content-encoding", "content-type", "headers",
/// "properties": {"correlation_id", "reply_to", "delivery_mode", "delivery_info": {"exchange", "routing_key"},
/// "priority", "expiration", "body_encoding": "base64", "delivery_tag"}}</c>. The one encoder and the one decoder of it.
/// </summary>
/// <remarks>
/// Decoding is strict, since the bytes come from a broker anyone may write to: invalid UTF-8, malformed JSON, a property
/// name twice in one object, nesting deeper than <see cref="MaxDepth"/>, a value of the wrong type, a number out of range
/// or a body that is not the base64 its <c>body_encoding</c> says are all one <see cref="MessageFormatException"/>,
/// never anything else.
/// </remarks>
internal static class KombuEnvelope
{
    /// <summary>
    /// How deep JSON read from a broker may nest (envelope, headers and body alike): System.Text.Json's default, set here
    /// on purpose so a hostile message fails fast with a clear reason. Celery's own messages nest a handful of levels.
    /// </summary>
    public const int MaxDepth = 64;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth, AllowDuplicateProperties = false };

    /// <summary>Encodes an envelope in kombu's JSON form.</summary>
    public static byte[] Encode(MessageEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var buffer = new ArrayBufferWriter<byte>(envelope.Body.Length * 4 / 3 + 1024);
        using (var writer = new Utf8JsonWriter(buffer, TaskMessageCodec.WriterOptions)) Write(writer, envelope);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes an envelope in kombu's JSON form.</summary>
    public static void Write(Utf8JsonWriter writer, MessageEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(envelope);
        writer.WriteStartObject();
        writer.WriteBase64String("body", envelope.Body);
        writer.WriteString("content-encoding", envelope.ContentEncoding);
        writer.WriteString("content-type", envelope.ContentType);
        writer.WritePropertyName("headers");
        if (envelope.HeadersWriter is { } writeHeaders) writeHeaders(writer);
        else envelope.Headers.WriteTo(writer);
        writer.WriteStartObject("properties");
        if (envelope.CorrelationId is { } correlationId)
        {
            writer.WriteString("correlation_id", correlationId);
            if (envelope.ReplyTo is null) writer.WriteNull("reply_to"); else writer.WriteString("reply_to", envelope.ReplyTo);
        }
        else if (envelope.ReplyTo is { } replyTo)
        {
            writer.WriteString("reply_to", replyTo);
        }
        writer.WriteNumber("delivery_mode", envelope.DeliveryMode);
        writer.WriteStartObject("delivery_info");
        writer.WriteString("exchange", envelope.Exchange);
        writer.WriteString("routing_key", envelope.RoutingKey);
        if (envelope.Redelivered) writer.WriteBoolean("redelivered", true);
        writer.WriteEndObject();
        writer.WriteNumber("priority", envelope.Priority);
        if (envelope.Expiration is { } expiration) writer.WriteString("expiration", expiration);
        writer.WriteString("body_encoding", "base64");
        writer.WriteString("delivery_tag", envelope.DeliveryTag ?? Guid.NewGuid().ToString());
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Decodes kombu's JSON form.</summary>
    /// <exception cref="MessageFormatException">The bytes are not a kombu envelope (the message says why).</exception>
    public static MessageEnvelope Decode(ReadOnlySpan<byte> json)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new MessageFormatException("The message is not valid UTF-8; expected a kombu JSON envelope.");
        try
        {
            return Read(json);
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException($"The message is not valid JSON: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            throw new MessageFormatException($"The kombu envelope cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Parses JSON that came from a broker (a body, a header value) as strictly as <see cref="Decode"/> reads envelopes:
    /// valid UTF-8, no property twice in one object, at most <see cref="MaxDepth"/> deep.
    /// </summary>
    /// <param name="json">The bytes.</param>
    /// <param name="what">What they are, for the exception message ("the body of task 1 (tasks.add)").</param>
    /// <exception cref="MessageFormatException">They are not such JSON.</exception>
    public static JsonNode? ParseJson(ReadOnlySpan<byte> json, string what)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new MessageFormatException($"{Capitalized(what)} is not valid UTF-8.");
        try
        {
            return ParseStrict(json);
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException($"{Capitalized(what)} is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new MessageFormatException($"{Capitalized(what)} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Parses valid UTF-8 with the document options (no duplicates, <see cref="MaxDepth"/>), first rejecting escaped text
    /// that is no text (a lone UTF-16 surrogate, <c>"\ud800"</c>), which System.Text.Json would only refuse when the value
    /// is read, anywhere later. Only text with a <c>\u</c> escape is scanned for it.
    /// </summary>
    private static JsonNode? ParseStrict(ReadOnlySpan<byte> json)
    {
        if (json.IndexOf("\\u"u8) >= 0)
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped) _ = reader.GetString();
            }
        }
        return JsonNode.Parse(json, nodeOptions: null, DocumentOptions);
    }

    private static string Capitalized(string what) => what.Length == 0 ? what : char.ToUpperInvariant(what[0]) + what[1..];

    private static MessageEnvelope Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new MessageFormatException("The message is not a JSON object; expected a kombu envelope {\"body\", \"headers\", \"properties\", ...}.");
        }
        JsonObject? headers = null;
        Range? bodyRange = null;
        string? bodyEscaped = null;
        string? contentType = null, contentEncoding = null;
        var properties = new PropertiesReader();
        var seen = new Seen("the envelope");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            seen.Add(name);
            reader.Read();
            switch (name)
            {
                case "body":
                    Expect(ref reader, JsonTokenType.String, "'body'", "a string");
                    if (reader.ValueIsEscaped) bodyEscaped = reader.GetString();
                    else bodyRange = new Range((int)reader.TokenStartIndex + 1, (int)reader.TokenStartIndex + 1 + reader.ValueSpan.Length);
                    break;
                case "content-type":
                    contentType = OptionalString(ref reader, "'content-type'");
                    break;
                case "content-encoding":
                    contentEncoding = OptionalString(ref reader, "'content-encoding'");
                    break;
                case "headers":
                    Expect(ref reader, JsonTokenType.StartObject, "'headers'", "an object");
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    headers = (JsonObject)ParseStrict(json[start..(int)reader.BytesConsumed])!;
                    break;
                case "properties":
                    if (reader.TokenType == JsonTokenType.Null) break;
                    Expect(ref reader, JsonTokenType.StartObject, "'properties'", "an object");
                    properties.Read(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject) throw new MessageFormatException("The kombu envelope is not a JSON object of properties.");
        if (headers is null) throw new MessageFormatException("The envelope has no 'headers' object; this is not a kombu message.");
        if (bodyRange is null && bodyEscaped is null) throw new MessageFormatException("The envelope has no 'body' string.");

        ReadOnlySpan<byte> text = bodyRange is { } range ? json[range] : Encoding.UTF8.GetBytes(bodyEscaped!);
        var body = string.Equals(properties.BodyEncoding, "base64", StringComparison.OrdinalIgnoreCase) ? FromBase64(text) : text.ToArray();
        return new MessageEnvelope
        {
            Headers = headers,
            Body = body,
            ContentType = contentType ?? TaskMessageCodec.ContentType,
            ContentEncoding = contentEncoding ?? TaskMessageCodec.ContentEncoding,
            CorrelationId = properties.CorrelationId,
            ReplyTo = properties.ReplyTo,
            DeliveryMode = properties.DeliveryMode ?? 2,
            Priority = properties.Priority ?? 0,
            Expiration = properties.Expiration,
            Exchange = properties.Exchange ?? "",
            RoutingKey = properties.RoutingKey ?? "",
            DeliveryTag = properties.DeliveryTag,
            Redelivered = properties.Redelivered || headers["redelivered"] is JsonValue r && r.GetValueKind() == JsonValueKind.True,
        };
    }

    private static byte[] FromBase64(ReadOnlySpan<byte> text)
    {
        var decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        if (Base64.DecodeFromUtf8(text, decoded, out _, out var written) == OperationStatus.Done) return decoded.AsSpan(0, written).ToArray();
        try
        {
            return Convert.FromBase64String(Encoding.UTF8.GetString(text)); // tolerates the whitespace some encoders add
        }
        catch (FormatException ex)
        {
            throw new MessageFormatException("The envelope says body_encoding=base64 but the body is not base64.", ex);
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what, string expected)
    {
        if (reader.TokenType != type) throw new MessageFormatException($"The envelope's {what} should be {expected}, not {reader.TokenType}.");
    }

    private static string? OptionalString(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        Expect(ref reader, JsonTokenType.String, what, "a string");
        return reader.GetString();
    }

    private static int? OptionalInt(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        Expect(ref reader, JsonTokenType.Number, what, "a number");
        if (reader.TryGetInt32(out var value)) return value;
        throw new MessageFormatException($"The envelope's {what} is out of range: {Encoding.UTF8.GetString(reader.ValueSpan)}.");
    }

    /// <summary>The properties kombu writes; others are skipped.</summary>
    private struct PropertiesReader
    {
        public string? CorrelationId, ReplyTo, Expiration, BodyEncoding, DeliveryTag, Exchange, RoutingKey;
        public int? DeliveryMode, Priority;
        public bool Redelivered;

        public void Read(ref Utf8JsonReader reader)
        {
            var seen = new Seen("the envelope's 'properties'");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                seen.Add(name);
                reader.Read();
                switch (name)
                {
                    case "correlation_id": CorrelationId = OptionalString(ref reader, "'correlation_id'"); break;
                    case "reply_to": ReplyTo = OptionalString(ref reader, "'reply_to'"); break;
                    case "expiration": Expiration = reader.TokenType == JsonTokenType.Number ? Encoding.UTF8.GetString(reader.ValueSpan) : OptionalString(ref reader, "'expiration'"); break;
                    case "body_encoding": BodyEncoding = OptionalString(ref reader, "'body_encoding'"); break;
                    case "delivery_tag": DeliveryTag = OptionalString(ref reader, "'delivery_tag'"); break;
                    case "delivery_mode": DeliveryMode = OptionalInt(ref reader, "'delivery_mode'"); break;
                    case "priority": Priority = OptionalInt(ref reader, "'priority'"); break;
                    case "delivery_info":
                        if (reader.TokenType == JsonTokenType.Null) break;
                        Expect(ref reader, JsonTokenType.StartObject, "'delivery_info'", "an object");
                        ReadDeliveryInfo(ref reader);
                        break;
                    default: reader.Skip(); break;
                }
            }
        }

        private void ReadDeliveryInfo(ref Utf8JsonReader reader)
        {
            var seen = new Seen("the envelope's 'delivery_info'");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                seen.Add(name);
                reader.Read();
                switch (name)
                {
                    case "exchange": Exchange = OptionalString(ref reader, "'delivery_info.exchange'"); break;
                    case "routing_key": RoutingKey = OptionalString(ref reader, "'delivery_info.routing_key'"); break;
                    case "redelivered": Redelivered = reader.TokenType == JsonTokenType.True; break;
                    default: reader.Skip(); break;
                }
            }
        }
    }

    /// <summary>The property names of one object so far: a name twice is a malformed message, as Python would silently keep the last.</summary>
    private readonly struct Seen(string where)
    {
        private readonly List<string> _names = new(8);

        public void Add(string name)
        {
            if (_names.Contains(name)) throw new MessageFormatException($"Duplicate property '{name}' in {where}.");
            _names.Add(name);
        }
    }
}
