using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.RabbitMQ.Tests;

/// <summary>Minimal kombu envelopes around a text body, for tests that care about the transport, not about tasks.</summary>
internal static class KombuBodies
{
    public static byte[] Wrap(string text) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["body"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)),
        ["content-encoding"] = "utf-8",
        ["content-type"] = "text/plain",
        ["headers"] = new JsonObject(),
        ["properties"] = new JsonObject { ["delivery_mode"] = 2, ["priority"] = 0, ["body_encoding"] = "base64", ["delivery_tag"] = Guid.NewGuid().ToString() },
    }.ToJsonString());

    public static string Unwrap(ReadOnlyMemory<byte> envelope)
    {
        using var document = JsonDocument.Parse(envelope);
        return Encoding.UTF8.GetString(Convert.FromBase64String(document.RootElement.GetProperty("body").GetString()!));
    }
}
