using System.Text;
using System.Text.Json.Nodes;
using Fennel.Events;
using Fennel.Protocol;

namespace Fennel.Tests.Events;

public class CeleryEventCodecTests
{
    [Fact]
    public void An_unknown_event_type_is_kept_with_all_its_fields_and_round_trips()
    {
        var json = """{"hostname": "w@h", "utcoffset": 0, "pid": 7, "clock": 3, "uuid": "abc", "progress": 0.5, "timestamp": 1795607917.5, "type": "task-progress"}""";
        var e = Assert.IsType<UnknownEvent>(Assert.Single(CeleryEventCodec.DecodeBody(Encoding.UTF8.GetBytes(json))));
        Assert.Equal("task-progress", e.Type);
        Assert.Equal("w@h", e.Hostname);
        Assert.Equal("abc", e.Extra["uuid"]!.GetValue<string>());
        Assert.Equal(0.5, e.Extra["progress"]!.GetValue<double>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), CeleryEventCodec.Encode(e)));
    }

    [Fact]
    public void Extra_fields_of_a_known_event_are_kept_and_written_back()
    {
        var json = """{"hostname": "w@h", "uuid": "abc", "result": "1", "runtime": 0.1, "x_trace": {"id": 1}, "timestamp": 1.0, "type": "task-succeeded"}""";
        var e = Assert.IsType<TaskSucceededEvent>(CeleryEventCodec.DecodeEvent(JsonNode.Parse(json)!.AsObject()));
        Assert.Equal(1, e.Extra["x_trace"]!["id"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), CeleryEventCodec.Encode(e)));
    }

    [Fact]
    public void Events_built_in_code_encode_and_decode_back_to_equal_values()
    {
        TaskEvent sent = new TaskSentEvent
        {
            Hostname = "gen1@h", Timestamp = 1795607917.25, UtcOffset = 1, Pid = 1, Clock = 9, TaskId = "t1",
            Name = "tasks.add", Args = "(1, 2)", Kwargs = "{}", Retries = 0, Queue = "celery", Exchange = "", RoutingKey = "celery",
        };
        var back = Assert.IsType<TaskSentEvent>(CeleryEventCodec.DecodeEvent(CeleryEventCodec.Encode(sent)));
        Assert.Equal(sent with { Extra = back.Extra }, back);
        Assert.Empty(back.Extra);

        var online = new WorkerOnlineEvent { Hostname = "w@h", Timestamp = 5, Freq = 2, Active = 1, Processed = 4, LoadAverage = [0.1, 0.2, 0.3] };
        var decoded = Assert.IsType<WorkerOnlineEvent>(CeleryEventCodec.DecodeEvent(CeleryEventCodec.Encode(online)));
        Assert.Equal([0.1, 0.2, 0.3], decoded.LoadAverage!);
        Assert.Equal(4, decoded.Processed);
        Assert.Equal("worker.online", CeleryEventCodec.RoutingKey(decoded.Type));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("42", "a number")]
    [InlineData("[1]", "Item 0")]
    [InlineData("""{"hostname": "w@h", "timestamp": 1}""", "no 'type'")]
    [InlineData("""{"type": "task-started", "hostname": "w@h", "timestamp": 1}""", "no 'uuid'")]
    [InlineData("""{"type": "worker-heartbeat", "timestamp": 1}""", "no 'hostname'")]
    [InlineData("""{"type": "worker-heartbeat", "hostname": "w@h"}""", "no 'timestamp'")]
    [InlineData("""{"type": "worker-heartbeat", "hostname": "w@h", "timestamp": 1, "freq": "fast"}""", "'freq' as a string")]
    [InlineData("""{"type": "worker-heartbeat", "hostname": "w@h", "timestamp": 1, "loadavg": [1, "x"]}""", "non-number in 'loadavg'")]
    [InlineData("""{"type": "task-started", "hostname": "w@h", "timestamp": 1, "uuid": 5}""", "'uuid' as a number")]
    public void Malformed_input_throws_a_message_format_exception_that_says_what_is_wrong(string json, string expected)
    {
        var e = Assert.Throws<MessageFormatException>(() => CeleryEventCodec.DecodeBody(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
