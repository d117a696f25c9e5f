using Fennel.Testing;
using System.Text;
using System.Text.Json.Nodes;
using Fennel.Protocol;

namespace Fennel.Tests.Protocol;

/// <summary>Every captured message in test/vectors/celery-5.2.6 decodes: tasks, events, control requests and replies, results.</summary>
public class EveryVectorTests
{
    public static TheoryData<string> AllFiles() =>
        [.. Directory.EnumerateFiles(CeleryVectors.Root, "*.json", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}capture{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(CeleryVectors.Root, f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Every_message_in_the_file_decodes(string file)
    {
        // redis-cli MONITOR output truncates long arguments (the capture says so): its envelopes are cut short.
        if (file.EndsWith("worker_session_command_stream.json", StringComparison.Ordinal)) return;
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(CeleryVectors.Root, file)));
        var found = 0;
        Walk(root, ref found);
        // Broker state dumps, CLI output and single decoded events hold no raw message; the other captures must.
        if (file.StartsWith("redis/", StringComparison.Ordinal) || file.StartsWith("amqp/", StringComparison.Ordinal)
            || file.StartsWith("control/redis", StringComparison.Ordinal) || file.StartsWith("control/amqp", StringComparison.Ordinal)
            || file.EndsWith("task.multi.json", StringComparison.Ordinal) || file.Contains("worker-", StringComparison.Ordinal))
        {
            if (!IsStateDump(file)) Assert.True(found > 0, $"{file}: no message found to decode");
        }
    }

    private static bool IsStateDump(string file) =>
        file.Contains("broker_state", StringComparison.Ordinal) || file.Contains("idle_keys", StringComparison.Ordinal)
        || file.Contains("eta_held_state", StringComparison.Ordinal) || file.Contains("topology", StringComparison.Ordinal)
        || file.Contains("command_stream", StringComparison.Ordinal) || file.Contains("header_value_types", StringComparison.Ordinal);

    private static void Walk(JsonNode? node, ref int found)
    {
        switch (node)
        {
            case JsonValue value when value.TryGetValue(out string? text) && text.StartsWith("{\"body\": ", StringComparison.Ordinal):
                DecodeKombu(text);
                found++;
                break;
            case JsonObject obj when obj["body_b64"] is JsonValue b64 && obj["properties"] is JsonObject properties:
                DecodeAmqp(b64.GetValue<string>(), properties);
                found++;
                break;
            case JsonObject obj:
                foreach (var (_, child) in obj) Walk(child, ref found);
                break;
            case JsonArray array:
                foreach (var child in array) Walk(child, ref found);
                break;
        }
    }

    private static void DecodeKombu(string raw)
    {
        var envelope = KombuEnvelope.Decode(Encoding.UTF8.GetBytes(raw));
        Assert.NotNull(envelope.BodyJson());
        if (envelope.Headers["task"] is not null) Assert.NotEmpty(TaskEnvelope.Decode(Encoding.UTF8.GetBytes(raw)).Message.Id);
    }

    private static void DecodeAmqp(string bodyBase64, JsonObject properties)
    {
        var body = Convert.FromBase64String(bodyBase64);
        Assert.NotNull(JsonNode.Parse(body));
        var headers = (properties["application_headers"] ?? properties["headers"]) as JsonObject;
        if (headers?["task"] is not null)
        {
            var message = TaskMessageCodec.Decode(headers, properties, body,
                properties["content_type"]?.GetValue<string>(), properties["content_encoding"]?.GetValue<string>());
            Assert.NotEmpty(message.Id);
        }
    }
}
