using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;

namespace Fennel.Events;

/// <summary>
/// The kombu envelope Celery's <c>EventDispatcher</c> publishes an event in: JSON body (base64 in the envelope), headers
/// <c>{"hostname": sender}</c>, <c>delivery_mode</c> 1 (transient), priority 0, exchange <c>celeryev</c>.
/// </summary>
internal static class EventEnvelope
{
    /// <summary>The topic exchange events go to.</summary>
    public const string Exchange = "celeryev";

    /// <summary>Wraps an event body (one event object, or a list for <c>task.multi</c>) for <paramref name="routingKey"/>.</summary>
    public static byte[] Encode(JsonNode body, string routingKey, string hostname)
    {
        var json = new ArrayBufferWriter<byte>(512);
        using (var bodyWriter = new Utf8JsonWriter(json, TaskMessageCodec.WriterOptions)) body.WriteTo(bodyWriter);
        var buffer = new ArrayBufferWriter<byte>(json.WrittenCount * 4 / 3 + 256);
        using (var writer = new Utf8JsonWriter(buffer, TaskMessageCodec.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteBase64String("body", json.WrittenSpan);
            writer.WriteString("content-encoding", TaskMessageCodec.ContentEncoding);
            writer.WriteString("content-type", TaskMessageCodec.ContentType);
            writer.WriteStartObject("headers");
            writer.WriteString("hostname", hostname);
            writer.WriteEndObject();
            writer.WriteStartObject("properties");
            writer.WriteNumber("delivery_mode", 1);
            writer.WriteStartObject("delivery_info");
            writer.WriteString("exchange", Exchange);
            writer.WriteString("routing_key", routingKey);
            writer.WriteEndObject();
            writer.WriteNumber("priority", 0);
            writer.WriteString("body_encoding", "base64");
            writer.WriteString("delivery_tag", Guid.NewGuid().ToString());
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
