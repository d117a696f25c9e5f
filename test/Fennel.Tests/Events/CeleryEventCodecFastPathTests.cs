using System.Text;
using System.Text.Json.Nodes;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Testing;

namespace Fennel.Tests.Events;

/// <summary>
/// The codec's fast path (straight from the bytes) gives exactly what the JsonNode path gives, and declines whatever it
/// cannot decode exactly that way, so the JsonNode path decides (with its result or its error).
/// </summary>
public class CeleryEventCodecFastPathTests
{
    [Fact]
    public void Every_event_message_of_the_redis_session_takes_the_fast_path_and_decodes_as_the_JsonNode_path_does()
    {
        var messages = JsonNode.Parse(File.ReadAllText(Path.Combine(CeleryVectors.Root, "events", "redis", "_all_pubsub_messages.json")))!.AsArray();
        var checkedMessages = 0;
        foreach (var message in messages)
        {
            if (!message!["channel"]!.GetValue<string>().StartsWith("/3.celeryev/", StringComparison.Ordinal)) continue;
            var raw = Encoding.UTF8.GetBytes(message["data"]!.GetValue<string>());
            var fast = new List<CeleryEvent>();
            Assert.True(CeleryEventCodec.TryDecodeMessage(raw, fast), message["data"]!.GetValue<string>());
            AssertSame(SlowPath(KombuEnvelope.Decode(raw).BodyJson()), fast);
            checkedMessages++;
        }
        Assert.True(checkedMessages >= 100, $"only {checkedMessages} event messages");
    }

    [Theory]
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "custom": {"a": [1, 2]}, "other": null, "type": "task-started"}""")]
    [InlineData("""[{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "type": "task-started"}, {"hostname": "w@h", "uuid": "t1", "timestamp": 2, "result": "5", "runtime": 0.5, "type": "task-succeeded"}]""")]
    [InlineData("""{"hostname": "w@h", "timestamp": 1.5, "freq": 2.0, "loadavg": [0.1, 0.2, 0.3], "sw_sys": "Linux", "active": null, "type": "worker-heartbeat"}""")]
    [InlineData("""{"hostname": "c@h", "uuid": "t1", "timestamp": 1.5, "queue": "q", "exchange": "", "routing_key": "q", "retries": 0, "args": "()", "type": "task-sent"}""")]
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "terminated": true, "signum": 15, "expired": false, "type": "task-revoked"}""")]
    [InlineData("[]")]
    public void Usual_bodies_take_the_fast_path(string json)
    {
        var fast = new List<CeleryEvent>();
        Assert.True(CeleryEventCodec.TryDecodeBodyFast(Encoding.UTF8.GetBytes(json), fast));
        AssertSame(SlowPath(JsonNode.Parse(json)), fast);
    }

    [Theory]
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "name": "tasks.add", "type": "task-started"}""")] // a field its type does not use: Extra
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "type": "task-progress"}""")] // uuid of an unknown type: Extra
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "result": 42, "type": "task-succeeded"}""")] // a repr that is not a string
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "retries": 1.5, "type": "task-received"}""")] // not an integer
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": "soon", "type": "task-started"}""")]
    [InlineData("""{"hostname": "w@h", "timestamp": 1.5, "type": "task-started"}""")] // no uuid
    [InlineData("""{"uuid": "t1", "timestamp": 1.5, "type": "task-started"}""")] // no hostname
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "type": ""}""")]
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5}""")]
    [InlineData("""{"host\u006eame": "w@h", "uuid": "t1", "timestamp": 1.5, "type": "task-started"}""")] // an escaped name
    [InlineData("""[{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "type": "task-started"}, 3]""")]
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "type": "task-started"} trailing""")]
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "uuid": "t2", "timestamp": 1.5, "type": "task-started"}""")] // a duplicate
    [InlineData("""{"hostname": "w@h", "uuid": "t1", "x": 1, "x": 2, "timestamp": 1.5, "type": "task-started"}""")]
    [InlineData("""not json""")]
    [InlineData("""42""")]
    public void Anything_unusual_is_left_to_the_JsonNode_path(string json)
    {
        var fast = new List<CeleryEvent>();
        Assert.False(CeleryEventCodec.TryDecodeBodyFast(Encoding.UTF8.GetBytes(json), fast));
        Assert.Empty(fast);
    }

    [Fact]
    public void A_message_the_fast_path_declines_leaves_the_list_as_it_was()
    {
        var events = new List<CeleryEvent> { new TaskStartedEvent { Hostname = "w@h", Timestamp = 1, TaskId = "t0" } };
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes(
            """[{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "type": "task-started"}, {"hostname": "w@h", "timestamp": 1.5, "type": "task-started"}]"""));
        var envelope = Encoding.UTF8.GetBytes($$$"""{"body": "{{{body}}}", "content-encoding": "utf-8", "content-type": "application/json", "headers": {}, "properties": {"body_encoding": "base64"}}""");
        Assert.False(CeleryEventCodec.TryDecodeMessage(envelope, events));
        Assert.Equal("t0", Assert.IsType<TaskStartedEvent>(Assert.Single(events)).TaskId);
        Assert.False(CeleryEventCodec.TryDecodeMessage("""{"body": "e30=", "headers": {}, "properties": {}}"""u8, events)); // not base64: the general way
        Assert.False(CeleryEventCodec.TryDecodeMessage("""{"body": "e30=", "content-type": "application/x-python-serialize", "headers": {}, "properties": {"body_encoding": "base64"}}"""u8, events));
        Assert.Single(events);
    }

    [Fact]
    public void DecodeBody_gives_the_JsonNode_paths_result_or_error_for_what_the_fast_path_declines()
    {
        var repr = Assert.IsType<TaskSucceededEvent>(Assert.Single(CeleryEventCodec.DecodeBody(
            """{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "result": 42, "type": "task-succeeded"}"""u8)));
        Assert.Equal("42", repr.Result);
        var started = Assert.Single(CeleryEventCodec.DecodeBody("""{"hostname": "w@h", "uuid": "t1", "timestamp": 1.5, "name": "n", "type": "task-started"}"""u8));
        Assert.Equal("n", started.Extra["name"]!.GetValue<string>());
        var error = Assert.Throws<MessageFormatException>(() => CeleryEventCodec.DecodeBody(
            """{"hostname": "w@h", "timestamp": 1.5, "type": "task-started"}"""u8));
        Assert.Contains("has no 'uuid'", error.Message, StringComparison.Ordinal);
    }

    private static List<CeleryEvent> SlowPath(JsonNode? body) => [.. CeleryEventCodec.Decode(body)];

    private static void AssertSame(IReadOnlyList<CeleryEvent> expected, IReadOnlyList<CeleryEvent> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].GetType(), actual[i].GetType());
            // Records compare every property; Extra (a JsonObject) compares by reference, so it is compared as JSON.
            Assert.True(RecordWithoutExtra.Instance.Equals(expected[i], actual[i]), $"{expected[i]}\n{actual[i]}");
            Assert.Equal(expected[i].Extra.ToJsonString(), actual[i].Extra.ToJsonString());
            Assert.Equal(CeleryEventCodec.Encode(expected[i]).ToJsonString(), CeleryEventCodec.Encode(actual[i]).ToJsonString());
        }
    }

    /// <summary>Equal when everything but <see cref="CeleryEvent.Extra"/> is (load averages by value).</summary>
    private sealed class RecordWithoutExtra : IEqualityComparer<CeleryEvent>
    {
        public static readonly RecordWithoutExtra Instance = new();

        private static readonly JsonObject Empty = [];

        public bool Equals(CeleryEvent? x, CeleryEvent? y)
        {
            if (x is WorkerEvent wx && y is WorkerEvent wy)
            {
                if (!(wx.LoadAverage ?? []).SequenceEqual(wy.LoadAverage ?? []) || (wx.LoadAverage is null) != (wy.LoadAverage is null)) return false;
                (x, y) = (wx with { LoadAverage = null }, wy with { LoadAverage = null });
            }
            return (x! with { Extra = Empty }).Equals(y! with { Extra = Empty });
        }

        public int GetHashCode(CeleryEvent obj) => 0;
    }
}
