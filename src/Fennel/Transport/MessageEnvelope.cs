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
    /// <summary>The message headers (a task's <c>id</c>, <c>task</c>, ...; an event's <c>hostname</c>).</summary>
    public required JsonObject Headers { get; init; }

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
