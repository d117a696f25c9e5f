using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Testing;

/// <summary>Minimal kombu envelopes around a text body, for tests that care about the transport, not about tasks.</summary>
public static class KombuBodies
{
    /// <summary>A kombu envelope whose body is <paramref name="text"/>, base64-encoded as kombu's virtual transports store it.</summary>
    /// <param name="text">The body.</param>
    /// <param name="deliveryTag">The envelope's <c>properties.delivery_tag</c>; a new GUID when null.</param>
    public static byte[] Wrap(string text, string? deliveryTag = null) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["body"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)),
        ["content-encoding"] = "utf-8",
        ["content-type"] = "text/plain",
        ["headers"] = new JsonObject(),
        ["properties"] = new JsonObject
        {
            ["delivery_mode"] = 2,
            ["priority"] = 0,
            ["body_encoding"] = "base64",
            ["delivery_tag"] = deliveryTag ?? Guid.NewGuid().ToString(),
        },
    }.ToJsonString());

    /// <summary>The text body of an envelope made by <see cref="Wrap"/> (or by kombu).</summary>
    public static string Unwrap(ReadOnlyMemory<byte> envelope)
    {
        using var document = JsonDocument.Parse(envelope);
        return Encoding.UTF8.GetString(Convert.FromBase64String(document.RootElement.GetProperty("body").GetString()!));
    }
}
