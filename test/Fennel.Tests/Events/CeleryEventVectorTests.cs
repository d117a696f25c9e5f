using System.Text;
using System.Text.Json.Nodes;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Testing;

namespace Fennel.Tests.Events;

/// <summary>Every captured Celery 5.2.6 event in test/vectors/celery-5.2.6/events decodes, and encodes back to the same JSON.</summary>
public class CeleryEventVectorTests
{
    public static TheoryData<string> EventFiles() =>
        [.. new[] { "redis", "amqp" }.SelectMany(b => CeleryVectors.Files(Path.Combine("events", b)))
            .Where(f => !Path.GetFileName(f).StartsWith('_'))
            .Select(f => Path.GetRelativePath(CeleryVectors.Root, f))];

    [Theory]
    [MemberData(nameof(EventFiles))]
    public void Every_event_form_in_the_file_decodes_to_its_type_and_round_trips(string file)
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, file));
        var expectedType = Path.GetFileNameWithoutExtension(file); // task-failed, ..., task.multi
        var forms = new List<(string Form, JsonNode Json, IReadOnlyList<CeleryEvent> Events)>();

        if (vector["event"] is JsonObject single) forms.Add(("event", single, [CeleryEventCodec.DecodeEvent(single)]));
        if (vector["body_decoded"] is { } decoded) forms.Add(("body_decoded", decoded, CeleryEventCodec.Decode(decoded)));
        if (vector["body_text"]?.GetValue<string>() is { } text)
            forms.Add(("body_text", JsonNode.Parse(text)!, CeleryEventCodec.DecodeBody(Encoding.UTF8.GetBytes(text))));
        if (vector["body_b64"]?.GetValue<string>() is { } b64)
        {
            var bytes = Convert.FromBase64String(b64);
            forms.Add(("body_b64", JsonNode.Parse(bytes)!, CeleryEventCodec.DecodeBody(bytes)));
        }
        if (vector["raw"]?.GetValue<string>() is { } raw)
        {
            var envelope = KombuEnvelope.Decode(Encoding.UTF8.GetBytes(raw));
            forms.Add(("raw", JsonNode.Parse(envelope.Body)!, CeleryEventCodec.DecodeBody(envelope.Body)));
        }
        Assert.NotEmpty(forms);

        foreach (var (form, json, events) in forms)
        {
            Assert.NotEmpty(events);
            if (expectedType == "task.multi")
            {
                Assert.IsType<JsonArray>(json);
                Assert.True(events.Count > 1, $"{file} {form}: a batch of one");
                Assert.All(events, e => Assert.IsAssignableFrom<TaskEvent>(e));
            }
            else
            {
                var e = Assert.Single(events);
                Assert.Equal(expectedType, e.Type);
                Assert.IsNotType<UnknownEvent>(e);
            }
            Assert.All(events, e =>
            {
                Assert.Equal("vm", e.Hostname.Split('@')[1]);
                Assert.True(e.Time.Year >= 2026, $"{file} {form}: timestamp {e.Timestamp}");
                Assert.NotNull(e.Clock);
                Assert.NotNull(e.Pid);
                Assert.Empty(e.Extra);
            });

            // Round trip: what Fennel writes is what Celery wrote.
            var encoded = json is JsonArray ? (JsonNode)CeleryEventCodec.EncodeBatch(events) : CeleryEventCodec.Encode(events[0]);
            Assert.True(JsonNode.DeepEquals(json, encoded), $"{file} {form}:\n{json.ToJsonString()}\n{encoded.ToJsonString()}");
        }
    }

    [Fact]
    public void Every_event_published_in_the_redis_session_decodes_and_matches_its_routing_key()
    {
        var messages = JsonNode.Parse(File.ReadAllText(Path.Combine(CeleryVectors.Root, "events", "redis", "_all_pubsub_messages.json")))!.AsArray();
        var decoded = 0;
        var types = new HashSet<string>();
        foreach (var message in messages)
        {
            var channel = message!["channel"]!.GetValue<string>();
            if (!channel.StartsWith("/3.celeryev/", StringComparison.Ordinal)) continue;
            var routingKey = channel["/3.celeryev/".Length..];
            var envelope = KombuEnvelope.Decode(Encoding.UTF8.GetBytes(message["data"]!.GetValue<string>()));
            var events = CeleryEventCodec.DecodeBody(envelope.Body);
            Assert.NotEmpty(events);
            if (routingKey == "task.multi") Assert.All(events, e => Assert.IsAssignableFrom<TaskEvent>(e));
            else Assert.Equal(routingKey, CeleryEventCodec.RoutingKey(Assert.Single(events).Type));
            foreach (var e in events) types.Add(e.Type);
            Assert.All(events, e => Assert.IsNotType<UnknownEvent>(e));
            decoded++;
        }
        Assert.True(decoded >= 100, $"only {decoded} event messages");
        Assert.Superset(new HashSet<string> { "task-sent", "task-received", "task-started", "task-succeeded", "task-failed", "worker-online", "worker-heartbeat", "worker-offline" }, types);
    }

    [Fact]
    public void Typed_fields_carry_the_captured_values()
    {
        static CeleryEvent Event(string name) => CeleryEventCodec.DecodeEvent(
            CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "events", "redis", name + ".json"))["event"]!.AsObject());

        var received = Assert.IsType<TaskReceivedEvent>(Event("task-received"));
        Assert.Equal("tasks.add", received.Name);
        Assert.Equal("(2, 3)", received.Args);
        Assert.Equal("{}", received.Kwargs);
        Assert.Equal(received.TaskId, received.RootId);
        Assert.Null(received.ParentId);
        Assert.Equal(0, received.Retries);

        var succeeded = Assert.IsType<TaskSucceededEvent>(Event("task-succeeded"));
        Assert.Equal("5", succeeded.Result);
        Assert.InRange(succeeded.Runtime!.Value, 0, 1);

        var failed = Assert.IsType<TaskFailedEvent>(Event("task-failed"));
        Assert.Equal("ValueError('boom')", failed.Exception);
        Assert.StartsWith("Traceback (most recent call last):", failed.Traceback, StringComparison.Ordinal);

        var revoked = Assert.IsType<TaskRevokedEvent>(Event("task-revoked"));
        Assert.Equal(true, revoked.Expired);
        Assert.Equal(false, revoked.Terminated);
        Assert.Null(revoked.Signum);

        var heartbeat = Assert.IsType<WorkerHeartbeatEvent>(CeleryEventCodec.Decode(
            CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "events", "redis", "worker-heartbeat.json"))["body_decoded"]).Single());
        Assert.Equal(2.0, heartbeat.Freq);
        Assert.Equal(3, heartbeat.LoadAverage!.Count);
        Assert.Equal("py-celery", heartbeat.SoftwareIdentity);
        Assert.Equal("5.2.6", heartbeat.SoftwareVersion);
        Assert.Equal("Linux", heartbeat.SoftwareSystem);
        Assert.Equal(0, heartbeat.Active);
    }
}
