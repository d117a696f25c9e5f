using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Transport;

namespace Fennel.Events;

/// <summary>
/// The kombu envelope Celery's <c>EventDispatcher</c> publishes an event in: JSON body, headers <c>{"hostname": sender}</c>,
/// <c>delivery_mode</c> 1 (transient), priority 0, exchange <c>celeryev</c>.
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
        return KombuEnvelope.Encode(new MessageEnvelope
        {
            Headers = new JsonObject { ["hostname"] = hostname },
            Body = json.WrittenSpan.ToArray(),
            DeliveryMode = 1,
            Exchange = Exchange,
            RoutingKey = routingKey,
        });
    }
}
