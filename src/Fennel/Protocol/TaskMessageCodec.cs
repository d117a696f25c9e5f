using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using Fennel.Python;
using Fennel.Transport;

namespace Fennel.Protocol;

/// <summary>
/// Celery protocol v2 with the JSON serializer: a <see cref="TaskMessage"/> to headers, properties and body, and back.
/// Transports add their framing around it (<see cref="TaskEnvelope"/> for Redis and SQLite, AMQP properties for RabbitMQ).
/// </summary>
internal static class TaskMessageCodec
{
    /// <summary>The only content type Fennel reads and writes.</summary>
    public const string ContentType = "application/json";

    /// <summary>The content encoding of the body.</summary>
    public const string ContentEncoding = "utf-8";

    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    internal static readonly JsonSerializerOptions NodeOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly HashSet<string> KnownHeaders =
    [
        "lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit",
        "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result",
    ];

    /// <summary>Writes the headers in the order Celery sends them, then the extra headers.</summary>
    public static void WriteHeaders(Utf8JsonWriter writer, TaskMessage message)
    {
        writer.WriteStartObject();
        writer.WriteString("lang", message.Lang);
        writer.WriteString("task", message.Task);
        writer.WriteString("id", message.Id);
        WriteStringOrNull(writer, "shadow", message.Shadow);
        WriteStringOrNull(writer, "eta", message.Eta is { } eta ? CeleryTime.Format(eta) : null);
        WriteStringOrNull(writer, "expires", message.Expires is { } expires ? CeleryTime.Format(expires) : null);
        WriteStringOrNull(writer, "group", message.Group);
        writer.WritePropertyName("group_index");
        if (message.GroupIndex is { } index) writer.WriteNumberValue(index); else writer.WriteNullValue();
        writer.WriteNumber("retries", message.Retries);
        writer.WritePropertyName("timelimit");
        writer.WriteStartArray();
        WriteSeconds(writer, message.TimeLimit.Hard);
        WriteSeconds(writer, message.TimeLimit.Soft);
        writer.WriteEndArray();
        writer.WriteString("root_id", message.RootId ?? message.Id);
        WriteStringOrNull(writer, "parent_id", message.ParentId);
        writer.WriteString("argsrepr", message.ArgsRepr ?? PythonRepr.Args(message.Args));
        writer.WriteString("kwargsrepr", message.KwargsRepr ?? PythonRepr.Kwargs(message.Kwargs));
        WriteStringOrNull(writer, "origin", message.Origin);
        writer.WriteBoolean("ignore_result", message.IgnoreResult);
        foreach (var (name, value) in message.ExtraHeaders)
        {
            if (KnownHeaders.Contains(name)) continue;
            writer.WritePropertyName(name);
            if (value is null) writer.WriteNullValue(); else value.WriteTo(writer);
        }
        writer.WriteEndObject();
    }

    /// <summary>The headers as a JSON object, in the order Celery sends them, then the extra headers.</summary>
    public static JsonObject EncodeHeaders(TaskMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var headers = new JsonObject
        {
            ["lang"] = message.Lang,
            ["task"] = message.Task,
            ["id"] = message.Id,
            ["shadow"] = message.Shadow,
            ["eta"] = message.Eta is { } eta ? CeleryTime.Format(eta) : null,
            ["expires"] = message.Expires is { } expires ? CeleryTime.Format(expires) : null,
            ["group"] = message.Group,
            ["group_index"] = message.GroupIndex,
            ["retries"] = message.Retries,
            ["timelimit"] = new JsonArray(Seconds(message.TimeLimit.Hard), Seconds(message.TimeLimit.Soft)),
            ["root_id"] = message.RootId ?? message.Id,
            ["parent_id"] = message.ParentId,
            ["argsrepr"] = message.ArgsRepr ?? PythonRepr.Args(message.Args),
            ["kwargsrepr"] = message.KwargsRepr ?? PythonRepr.Kwargs(message.Kwargs),
            ["origin"] = message.Origin,
            ["ignore_result"] = message.IgnoreResult,
        };
        foreach (var (name, value) in message.ExtraHeaders)
        {
            if (!KnownHeaders.Contains(name)) headers[name] = value?.DeepClone();
        }
        return headers;

        static JsonNode? Seconds(double? seconds) => seconds switch
        {
            null => null,
            { } s when s == Math.Floor(s) && Math.Abs(s) < long.MaxValue => JsonValue.Create((long)s),
            { } s => JsonValue.Create(s),
        };
    }

    /// <summary>The body <c>[args, kwargs, embed]</c> as UTF-8 JSON.</summary>
    public static byte[] EncodeBody(TaskMessage message)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions)) WriteBody(writer, message);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the body <c>[args, kwargs, embed]</c>.</summary>
    public static void WriteBody(Utf8JsonWriter writer, TaskMessage message)
    {
        writer.WriteStartArray();
        message.Args.WriteTo(writer);
        message.Kwargs.WriteTo(writer);
        writer.WriteStartObject();
        WriteNodeOrNull(writer, "callbacks", message.Embed.Callbacks);
        WriteNodeOrNull(writer, "errbacks", message.Embed.Errbacks);
        WriteNodeOrNull(writer, "chain", message.Embed.Chain);
        WriteNodeOrNull(writer, "chord", message.Embed.Chord);
        writer.WriteEndObject();
        writer.WriteEndArray();
    }

    /// <summary>Reads a task message from its envelope.</summary>
    /// <exception cref="MessageFormatException">The message is not a Celery protocol v2 JSON message.</exception>
    public static TaskMessage Decode(MessageEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return Decode(envelope.Headers, envelope.ReplyTo, envelope.Priority, envelope.DeliveryMode, envelope.Body,
            envelope.ContentType, envelope.ContentEncoding);
    }

    /// <summary>
    /// Reads a message from its headers, its properties (Celery's names: <c>reply_to</c>, <c>priority</c>,
    /// <c>delivery_mode</c>, <c>content_type</c>, ...) and its body.
    /// </summary>
    /// <exception cref="MessageFormatException">The message is not a Celery protocol v2 JSON message.</exception>
    public static TaskMessage Decode(JsonObject headers, JsonObject? properties, ReadOnlySpan<byte> body,
        string? contentType = ContentType, string? contentEncoding = ContentEncoding)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return Decode(headers, properties is null ? null : OptionalString(properties, "reply_to"),
            properties is null ? 0 : OptionalInt(properties, "priority", "?") ?? 0,
            properties is null ? 2 : OptionalInt(properties, "delivery_mode", "?") ?? 2, body, contentType, contentEncoding);
    }

    private static TaskMessage Decode(JsonObject headers, string? replyTo, int priority, int deliveryMode, ReadOnlySpan<byte> body,
        string? contentType, string? contentEncoding)
    {
        try
        {
            return DecodeChecked(headers, replyTo, priority, deliveryMode, body, contentType, contentEncoding);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OverflowException or JsonException)
        {
            // A value the strict parse let through but that cannot be read as what it claims (a lone UTF-16 surrogate, ...).
            throw new MessageFormatException($"The task message cannot be read: {ex.Message}", ex);
        }
    }

    private static TaskMessage DecodeChecked(JsonObject headers, string? replyTo, int priority, int deliveryMode, ReadOnlySpan<byte> body,
        string? contentType, string? contentEncoding)
    {
        if (contentType is not null && !string.Equals(contentType, ContentType, StringComparison.OrdinalIgnoreCase))
        {
            throw new MessageFormatException($"Content type '{contentType}' is not supported; Fennel reads only '{ContentType}' (Celery's json serializer).");
        }
        if (contentEncoding is not null && !IsUtf8(contentEncoding))
        {
            throw new MessageFormatException($"Content encoding '{contentEncoding}' is not supported; expected utf-8.");
        }

        var id = RequiredString(headers, "id");
        var task = RequiredString(headers, "task");

        var bodyNode = KombuEnvelope.ParseJson(body, $"the body of task {id} ({task})");
        if (bodyNode is not JsonArray parts || parts.Count != 3)
        {
            throw new MessageFormatException($"The body of task {id} ({task}) is not [args, kwargs, embed]; is it a protocol v1 message?");
        }
        if (parts[0] is not JsonArray args) throw new MessageFormatException($"The args of task {id} ({task}) are not a JSON array.");
        if (parts[1] is not JsonObject kwargs) throw new MessageFormatException($"The kwargs of task {id} ({task}) are not a JSON object.");
        var embed = parts[2] as JsonObject;
        parts.Clear(); // detach args and kwargs so they can live in the message

        var extra = new JsonObject();
        foreach (var (name, value) in headers)
        {
            if (!KnownHeaders.Contains(name)) extra[name] = value?.DeepClone();
        }

        return new TaskMessage
        {
            Id = id,
            Task = task,
            Lang = OptionalString(headers, "lang") ?? "py",
            Shadow = OptionalString(headers, "shadow"),
            Eta = OptionalTime(headers, "eta", id),
            Expires = OptionalTime(headers, "expires", id),
            Group = OptionalString(headers, "group"),
            GroupIndex = OptionalInt(headers, "group_index", id),
            Retries = OptionalInt(headers, "retries", id) ?? 0,
            TimeLimit = ReadTimeLimit(headers, id),
            RootId = OptionalString(headers, "root_id"),
            ParentId = OptionalString(headers, "parent_id"),
            ArgsRepr = OptionalString(headers, "argsrepr"),
            KwargsRepr = OptionalString(headers, "kwargsrepr"),
            Origin = OptionalString(headers, "origin"),
            IgnoreResult = headers["ignore_result"] is JsonValue ignore && ignore.TryGetValue(out bool ignored) && ignored,
            ExtraHeaders = extra,
            ReplyTo = replyTo,
            Priority = priority,
            DeliveryMode = deliveryMode,
            Args = args,
            Kwargs = kwargs,
            Embed = new TaskEmbed
            {
                Callbacks = embed?["callbacks"] as JsonArray is { } cb ? (JsonArray)cb.DeepClone() : null,
                Errbacks = embed?["errbacks"] as JsonArray is { } eb ? (JsonArray)eb.DeepClone() : null,
                Chain = embed?["chain"] as JsonArray is { } ch ? (JsonArray)ch.DeepClone() : null,
                Chord = embed?["chord"] as JsonObject is { } cd ? (JsonObject)cd.DeepClone() : null,
            },
        };
    }

    private static bool IsUtf8(string encoding) =>
        encoding.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || encoding.Equals("utf8", StringComparison.OrdinalIgnoreCase);

    private static void WriteStringOrNull(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null) writer.WriteNull(name); else writer.WriteString(name, value);
    }

    private static void WriteNodeOrNull(Utf8JsonWriter writer, string name, JsonNode? value)
    {
        writer.WritePropertyName(name);
        if (value is null) writer.WriteNullValue(); else value.WriteTo(writer);
    }

    private static void WriteSeconds(Utf8JsonWriter writer, double? seconds)
    {
        if (seconds is not { } s) writer.WriteNullValue();
        else if (s == Math.Floor(s) && Math.Abs(s) < long.MaxValue) writer.WriteNumberValue((long)s);
        else writer.WriteNumberValue(s);
    }

    private static string RequiredString(JsonObject headers, string name) =>
        OptionalString(headers, name) is { Length: > 0 } value
            ? value
            : throw new MessageFormatException($"Header '{name}' is missing or empty; this is not a Celery protocol v2 task message.");

    private static string? OptionalString(JsonObject obj, string name) => obj[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonValue v => v.ToJsonString(NodeOptions),
        var other => throw new MessageFormatException($"Header '{name}' should be a string, not {other.GetValueKind()}."),
    };

    private static int? OptionalInt(JsonObject obj, string name, string id)
    {
        var node = obj[name];
        if (node is null) return null;
        if (node is JsonValue v)
        {
            if (v.TryGetValue(out int i)) return i;
            if (v.TryGetValue(out long l) && l is >= int.MinValue and <= int.MaxValue) return (int)l;
            if (Number(v) is { } d && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (int)d;
            if (v.TryGetValue(out string? s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)) return parsed;
        }
        throw new MessageFormatException($"Task {id}: '{name}' should be an integer, not {node.ToJsonString()}.");
    }

    private static DateTimeOffset? OptionalTime(JsonObject headers, string name, string id)
    {
        var text = OptionalString(headers, name);
        if (text is null) return null;
        return CeleryTime.TryParse(text, out var value)
            ? value
            : throw new MessageFormatException($"Task {id}: header '{name}' is not an ISO-8601 time: '{text}'.");
    }

    private static TaskTimeLimit ReadTimeLimit(JsonObject headers, string id)
    {
        if (headers["timelimit"] is not JsonArray limits) return default;
        return new TaskTimeLimit(Seconds(limits.Count > 0 ? limits[0] : null), Seconds(limits.Count > 1 ? limits[1] : null));

        double? Seconds(JsonNode? node) => node switch
        {
            null => null,
            JsonValue v when Number(v) is { } d => d,
            JsonValue v when v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => throw new MessageFormatException($"Task {id}: header 'timelimit' should be [hard, soft] in seconds, not {headers["timelimit"]!.ToJsonString()}."),
        };
    }

    /// <summary>
    /// A JSON number as a double, whatever holds it: parsed JSON, or a CLR value (an <c>int</c> or a <c>long</c> read from
    /// an AMQP header table), which <see cref="JsonValue.TryGetValue{T}"/> does not convert.
    /// </summary>
    private static double? Number(JsonValue value)
    {
        if (value.TryGetValue(out double d)) return d;
        if (value.GetValueKind() != JsonValueKind.Number) return null;
        return double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d) ? d : null;
    }

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
