using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;

namespace Fennel.Transport;

/// <summary>
/// One message as every broker carries it, in kombu's model: headers, the properties Celery sets, and the body bytes with
/// their content type and encoding. Task, event and remote-control messages are all built as one of these; a key-value
/// broker (Redis, SQLite, memory) stores it in kombu's JSON form (<see cref="KombuEnvelope"/>), RabbitMQ maps it to AMQP
/// headers and properties.
/// </summary>
public sealed record MessageEnvelope
{
    private JsonObject? _headers;
    private readonly Func<JsonObject>? _makeHeaders;

    /// <summary>An envelope; set <see cref="Headers"/> and <see cref="Body"/>.</summary>
    public MessageEnvelope()
    {
    }

    /// <summary>
    /// An envelope whose headers are written straight to JSON when a key-value broker stores it (a task on its publish
    /// path: no JSON object per message), and made as an object only when asked for (RabbitMQ's header table).
    /// </summary>
    [SetsRequiredMembers]
    internal MessageEnvelope(Action<Utf8JsonWriter> writeHeaders, Func<JsonObject> makeHeaders, byte[] body)
    {
        Headers = null!; // none yet: the getter makes them on first use
        HeadersWriter = writeHeaders;
        _makeHeaders = makeHeaders;
        Body = body;
    }

    /// <summary>The message headers (a task's <c>id</c>, <c>task</c>, ...; an event's <c>hostname</c>).</summary>
    public required JsonObject Headers
    {
        get => _headers ??= _makeHeaders!();
        init
        {
            _headers = value;
            HeadersWriter = null;
        }
    }

    /// <summary>Writes the headers as JSON without making them an object first; null when they are only an object.</summary>
    internal Action<Utf8JsonWriter>? HeadersWriter { get; private init; }

    /// <summary>The body, as its content type says (base64 on key-value brokers is undone).</summary>
    public required byte[] Body { get; init; }

    /// <summary>The content type. <value>application/json</value></summary>
    public string ContentType { get; init; } = TaskMessageCodec.ContentType;

    /// <summary>The content encoding. <value>utf-8</value></summary>
    public string ContentEncoding { get; init; } = TaskMessageCodec.ContentEncoding;

    /// <summary>
    /// The correlation id (a task's id). kombu writes <c>correlation_id</c> and <c>reply_to</c> together, so the JSON
    /// form has a <c>reply_to</c> (maybe null) exactly when this is set.
    /// </summary>
    public string? CorrelationId { get; init; }

    /// <summary>Where replies go (the caller's rpc queue); null when none.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>1 transient, 2 persistent. <value>2</value></summary>
    public int DeliveryMode { get; init; } = 2;

    /// <summary>The message priority, 0–255 as sent (Celery uses 0–9). <value>0</value></summary>
    public int Priority { get; init; }

    /// <summary>The AMQP per-message TTL in milliseconds, as text; null when none.</summary>
    public string? Expiration { get; init; }

    /// <summary>The exchange it was published to (<c>""</c>: straight to the queue named by <see cref="RoutingKey"/>).</summary>
    public string Exchange { get; init; } = "";

    /// <summary>The routing key.</summary>
    public string RoutingKey { get; init; } = "";

    /// <summary>The publisher's delivery tag (a UUID on key-value brokers); null when the broker has its own.</summary>
    public string? DeliveryTag { get; init; }

    /// <summary>True when a broker said this message was delivered before (<c>delivery_info.redelivered</c>).</summary>
    public bool Redelivered { get; init; }

    /// <summary>The body parsed as JSON (events: an object or a list; control: an object).</summary>
    /// <exception cref="MessageFormatException">The content type is not JSON, or the body is not valid JSON.</exception>
    public JsonNode? BodyJson()
    {
        if (!string.Equals(ContentType, TaskMessageCodec.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            throw new MessageFormatException($"Content type '{ContentType}' is not supported; Fennel reads only '{TaskMessageCodec.ContentType}'.");
        }
        return KombuEnvelope.ParseJson(Body, "the body");
    }
}
