using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Protocol;

/// <summary>
/// kombu's JSON envelope for any message on a key-value broker (Redis, SQLite): tasks, events, remote-control requests
/// and replies alike — <c>{"body", "content-encoding", "content-type", "headers", "properties"}</c>, the body base64
/// when <c>properties.body_encoding</c> says so. <see cref="TaskEnvelope"/> reads task messages through it.
/// </summary>
/// <param name="Headers">The message headers.</param>
/// <param name="Properties">The message properties (<c>delivery_info</c>, <c>delivery_tag</c>, <c>reply_to</c>, ...).</param>
/// <param name="Body">The body bytes, base64 already undone.</param>
/// <param name="ContentType">The content type; <c>application/json</c> for everything Celery sends with its JSON serializer.</param>
/// <param name="ContentEncoding">The content encoding.</param>
public sealed record KombuEnvelope(JsonObject Headers, JsonObject Properties, byte[] Body, string ContentType, string ContentEncoding)
{
    /// <summary>Decodes an envelope.</summary>
    /// <exception cref="MessageFormatException">The bytes are not a kombu envelope.</exception>
    public static KombuEnvelope Decode(ReadOnlySpan<byte> envelope)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(envelope) as JsonObject
                ?? throw new MessageFormatException("The message is not a JSON object; expected a kombu envelope {\"body\", \"headers\", \"properties\", ...}.");
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException($"The message is not valid JSON: {ex.Message}", ex);
        }

        var headers = root["headers"] as JsonObject
            ?? throw new MessageFormatException("The envelope has no 'headers' object; this is not a kombu message.");
        var properties = root["properties"] as JsonObject ?? [];
        var bodyText = Text(root, "body") ?? throw new MessageFormatException("The envelope has no 'body' string.");
        byte[] body;
        if (string.Equals(Text(properties, "body_encoding"), "base64", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                body = Convert.FromBase64String(bodyText);
            }
            catch (FormatException ex)
            {
                throw new MessageFormatException("The envelope says body_encoding=base64 but the body is not base64.", ex);
            }
        }
        else
        {
            body = Encoding.UTF8.GetBytes(bodyText);
        }
        root.Remove("headers");
        root.Remove("properties");
        return new KombuEnvelope(headers, properties, body,
            Text(root, "content-type") ?? TaskMessageCodec.ContentType, Text(root, "content-encoding") ?? TaskMessageCodec.ContentEncoding);
    }

    /// <summary>The body parsed as JSON (events: an object or a list; control: an object).</summary>
    /// <exception cref="MessageFormatException">The body is not JSON.</exception>
    public JsonNode? BodyJson()
    {
        if (!string.Equals(ContentType, TaskMessageCodec.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            throw new MessageFormatException($"Content type '{ContentType}' is not supported; Fennel reads only '{TaskMessageCodec.ContentType}'.");
        }
        try
        {
            return JsonNode.Parse(Body);
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException($"The body is not valid JSON: {ex.Message}", ex);
        }
    }

    internal static string? Text(JsonObject obj, string name) => obj[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
