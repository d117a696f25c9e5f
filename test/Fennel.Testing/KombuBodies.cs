using Fennel.Transport;

namespace Fennel.Testing;

/// <summary>Minimal kombu envelopes around a text body, for tests that care about the transport, not about tasks.</summary>
public static class KombuBodies
{
    /// <summary>A message whose body is <paramref name="text"/>.</summary>
    public static MessageEnvelope Envelope(string text, string? deliveryTag = null) => TextMessages.Envelope(text, deliveryTag);

    /// <summary>The same in kombu's JSON form, written by the one encoder.</summary>
    public static byte[] Wrap(string text, string? deliveryTag = null) => TextMessages.Stored(text, deliveryTag);

    /// <summary>The text of a message in kombu's JSON form.</summary>
    public static string Unwrap(ReadOnlyMemory<byte> envelope) => TextMessages.TextOf(envelope);
}
