using System.Text;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Transport;

namespace Fennel.Testing;

/// <summary>Messages around a text body, for tests that care about the transport, not about tasks.</summary>
public static class TextMessages
{
    /// <summary>A message whose body is <paramref name="text"/> (content type <c>text/plain</c>, no headers).</summary>
    public static MessageEnvelope Envelope(string text, string? deliveryTag = null) => new()
    {
        Headers = new JsonObject(),
        Body = Encoding.UTF8.GetBytes(text),
        ContentType = "text/plain",
        DeliveryTag = deliveryTag,
    };

    /// <summary>The same message in kombu's JSON form, as Redis, SQLite and memory store it.</summary>
    public static byte[] Stored(string text, string? deliveryTag = null) => KombuEnvelope.Encode(Envelope(text, deliveryTag));

    /// <summary>The text a delivered message carries.</summary>
    public static string TextOf(Delivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return Encoding.UTF8.GetString(delivery.Envelope.Body);
    }

    /// <summary>The text a message stored in kombu's JSON form carries.</summary>
    public static string TextOf(ReadOnlyMemory<byte> stored) => Encoding.UTF8.GetString(KombuEnvelope.Decode(stored.Span).Body);
}
