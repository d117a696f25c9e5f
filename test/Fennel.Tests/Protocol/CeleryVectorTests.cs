using System.Text.Json.Nodes;
using System.Text;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Results;
using Fennel.Testing;

namespace Fennel.Tests.Protocol;

public class CeleryVectorTests
{
    public static TheoryData<string> RedisTaskFiles() => [.. CeleryVectors.Files("redis").Where(HasTaskMessages).Select(f => Path.GetFileName(f))];

    public static TheoryData<string> AmqpTaskFiles() => [.. CeleryVectors.Files("amqp").Where(HasTaskMessages).Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(RedisTaskFiles))]
    public void Every_redis_envelope_decodes(string file)
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "redis", file));
        foreach (var m in Messages(vector))
        {
            var raw = m["raw"]!.GetValue<string>();
            var envelope = TaskEnvelope.Decode(Encoding.UTF8.GetBytes(raw));
            var headers = m["envelope"]!["headers"]!.AsObject();
            Assert.Equal(headers["id"]!.GetValue<string>(), envelope.Message.Id);
            Assert.Equal(headers["task"]!.GetValue<string>(), envelope.Message.Task);
            Assert.Equal(headers["retries"]!.GetValue<int>(), envelope.Message.Retries);
            var body = m["body_decoded"]!.AsArray();
            Assert.True(JsonNode.DeepEquals(body[0], envelope.Message.Args), $"{file}: args");
            Assert.True(JsonNode.DeepEquals(body[1], envelope.Message.Kwargs), $"{file}: kwargs");
            Assert.Equal(m["envelope"]!["properties"]!["delivery_info"]!["routing_key"]!.GetValue<string>(), envelope.RoutingKey);
            Assert.Equal(m["envelope"]!["properties"]!["delivery_tag"]!.GetValue<string>(), envelope.DeliveryTag);
            Assert.Equal(m["envelope"]!["properties"]!["priority"]!.GetValue<int>(), envelope.Message.Priority);
        }
    }

    [Theory]
    [MemberData(nameof(AmqpTaskFiles))]
    public void Every_amqp_message_decodes(string file)
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "amqp", file));
        var decoded = 0;
        foreach (var m in Messages(vector))
        {
            var properties = m["properties"]!.AsObject();
            // basic_get captures name the table application_headers; firehose captures name it headers.
            var headers = (properties["application_headers"] ?? properties["headers"])?.AsObject();
            if (headers?["task"] is null) continue; // firehose captures also hold events, pidbox and result messages
            decoded++;
            var body = Convert.FromBase64String(m["body_b64"]!.GetValue<string>());
            var message = TaskMessageCodec.Decode(headers, properties, body,
                properties["content_type"]?.GetValue<string>(), properties["content_encoding"]?.GetValue<string>());
            Assert.Equal(headers["id"]!.GetValue<string>(), message.Id);
            Assert.Equal(properties["reply_to"]!.GetValue<string>(), message.ReplyTo);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(body)![0], message.Args), $"{file}: args");
        }
        Assert.True(decoded > 0, $"{file} holds no task message");
    }

    [Fact]
    public void Eta_expires_timelimit_shadow_and_custom_headers_are_read()
    {
        var eta = Decode("redis/task_eta.json");
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(6789010), eta.Eta);
        var misc = Decode("redis/task_misc_options.json");
        Assert.Equal(new TaskTimeLimit(30, 20), misc.TimeLimit);
        Assert.Equal("add-shadow-name", misc.Shadow);
        Assert.True(misc.IgnoreResult);
        Assert.Equal("11111111-2222-3333-4444-555555555555", misc.Id);
        var custom = Decode("redis/task_headers.json");
        Assert.Equal("acme", custom.ExtraHeaders["x-tenant"]!.GetValue<string>());
        Assert.NotNull(Decode("redis/task_expires.json").Expires);
        var link = Decode("redis/task_link.json");
        Assert.NotNull(link.Embed.Callbacks);
        Assert.NotNull(link.Embed.Errbacks);
        Assert.NotNull(Decode("redis/chain.json").Embed.Chain);
    }

    [Fact]
    public void Unicode_and_big_integers_survive()
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "redis", "task_unicode_bigint.json"));
        var messages = Messages(vector).Select(m => TaskEnvelope.Decode(Encoding.UTF8.GetBytes(m["raw"]!.GetValue<string>())).Message).ToList();
        var greet = messages.Single(m => m.Task == "tasks.greet");
        Assert.Equal("Zoë ☃", greet.Args[0]!.GetValue<string>());
        Assert.Equal("‼", greet.Kwargs["punctuation"]!.GetValue<string>());
        var add = messages.Single(m => m.Task == "tasks.add");
        Assert.Equal(1099511627776L, add.Args[0]!.GetValue<long>());
        Assert.Equal(0.5, add.Args[1]!.GetValue<double>());
        Assert.Equal(greet.ArgsRepr, PythonRepr.Args(greet.Args));
        Assert.Equal(add.ArgsRepr, PythonRepr.Args(add.Args));
    }

    [Fact]
    public void Encode_then_decode_keeps_every_field()
    {
        var original = new TaskMessage
        {
            Id = Guid.NewGuid().ToString(),
            Task = "customers.send_welcome",
            Shadow = "welcome",
            Eta = new DateTimeOffset(2031, 5, 6, 7, 8, 9, 123, TimeSpan.Zero),
            Expires = new DateTimeOffset(2031, 5, 7, 7, 8, 9, TimeSpan.Zero),
            Group = "g1",
            GroupIndex = 2,
            Retries = 3,
            TimeLimit = new TaskTimeLimit(30, 20.5),
            RootId = "root",
            ParentId = "parent",
            Origin = "gen1@box",
            IgnoreResult = true,
            ExtraHeaders = new JsonObject { ["x-tenant"] = "acme", ["x-list"] = new JsonArray(1, "a") },
            ReplyTo = "reply",
            Priority = 7,
            Args = [42, "Zoë ☃", 1099511627776, 0.5, null, true],
            Kwargs = new JsonObject { ["greeting"] = "Hi" },
            Embed = new TaskEmbed { Callbacks = [new JsonObject { ["task"] = "tasks.mul" }] },
        };
        var bytes = TaskEnvelope.Encode(original, "customers", DateTimeOffset.UtcNow);
        var decoded = TaskEnvelope.Decode(bytes);
        var m = decoded.Message;
        Assert.Equal("customers", decoded.RoutingKey);
        Assert.Equal(original.Id, m.Id);
        Assert.Equal(original.Task, m.Task);
        Assert.Equal(original.Shadow, m.Shadow);
        Assert.Equal(original.Eta, m.Eta);
        Assert.Equal(original.Expires, m.Expires);
        Assert.Equal(original.Group, m.Group);
        Assert.Equal(original.GroupIndex, m.GroupIndex);
        Assert.Equal(original.Retries, m.Retries);
        Assert.Equal(original.TimeLimit, m.TimeLimit);
        Assert.Equal(original.RootId, m.RootId);
        Assert.Equal(original.ParentId, m.ParentId);
        Assert.Equal(original.Origin, m.Origin);
        Assert.True(m.IgnoreResult);
        Assert.Equal(original.ReplyTo, m.ReplyTo);
        Assert.Equal(7, m.Priority);
        Assert.True(JsonNode.DeepEquals(original.Args, m.Args));
        Assert.True(JsonNode.DeepEquals(original.Kwargs, m.Kwargs));
        Assert.True(JsonNode.DeepEquals(original.ExtraHeaders, m.ExtraHeaders));
        Assert.True(JsonNode.DeepEquals(original.Embed.Callbacks, m.Embed.Callbacks));
        Assert.Equal("(42, 'Zoë ☃', 1099511627776, 0.5, None, True)", m.ArgsRepr);
        Assert.Equal("{'greeting': 'Hi'}", m.KwargsRepr);
    }

    [Fact]
    public void Our_headers_carry_every_header_celery_sends_in_the_same_order()
    {
        var celery = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "redis", "task_add.json"));
        var celeryNames = Messages(celery).First()["envelope"]!["headers"]!.AsObject().Select(p => p.Key).ToList();
        var ours = TaskMessageCodec.EncodeHeaders(new TaskMessage { Id = "1", Task = "tasks.add", Args = [2, 3] }).Select(p => p.Key).ToList();
        Assert.Equal(celeryNames, ours);
        var properties = JsonNode.Parse(TaskEnvelope.Encode(new TaskMessage { Id = "1", Task = "t" }, "celery", DateTimeOffset.UtcNow))!["properties"]!.AsObject();
        var celeryProperties = Messages(celery).First()["envelope"]!["properties"]!.AsObject().Select(p => p.Key);
        Assert.Equal(celeryProperties, properties.Select(p => p.Key));
    }

    [Theory]
    [InlineData("redis/task_add.json", "(2, 3)", "{}")]
    [InlineData("redis/task_kwargs.json", null, null)]
    [InlineData("redis/task_unicode_bigint.json", null, null)]
    public void Python_repr_matches_what_celery_wrote(string file, string? expectedArgs, string? expectedKwargs)
    {
        var message = Decode(file);
        Assert.Equal(expectedArgs ?? message.ArgsRepr, PythonRepr.Args(message.Args));
        Assert.Equal(expectedKwargs ?? message.KwargsRepr, PythonRepr.Kwargs(message.Kwargs));
    }

    [Fact]
    public void Every_redis_result_decodes_with_its_state_and_exception()
    {
        var count = 0;
        foreach (var file in CeleryVectors.Files("results/redis_backend"))
        {
            var vector = CeleryVectors.Load(file);
            foreach (var value in StoredValues(vector))
            {
                count++;
                var result = TaskResultCodec.Decode(Encoding.UTF8.GetBytes(value));
                Assert.False(string.IsNullOrEmpty(result.TaskId));
                if (result.State == TaskState.Failure) Assert.NotNull(result.Exception);
            }
        }
        Assert.True(count >= 10, $"only {count} stored results found");
        var failed = StoredValues(CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "results/redis_backend/fail.json")))
            .Select(v => TaskResultCodec.Decode(Encoding.UTF8.GetBytes(v))).Single(r => r.State == TaskState.Failure);
        Assert.Equal("ValueError", failed.Exception!.Type);
        Assert.Contains("Traceback", failed.Traceback, StringComparison.Ordinal);
    }

    [Fact]
    public void Result_encoding_matches_celery_key_order()
    {
        var bytes = TaskResultCodec.Encode(new TaskResult { TaskId = "x", State = TaskState.Success, Result = 5, DateDone = DateTimeOffset.UnixEpoch });
        Assert.Equal("""{"status":"SUCCESS","result":5,"traceback":null,"children":[],"date_done":"1970-01-01T00:00:00","task_id":"x"}""",
            Encoding.UTF8.GetString(bytes));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("""{"body": "W10=", "headers": {}, "properties": {"body_encoding": "base64"}}""")]
    [InlineData("""{"body": "W10=", "headers": {"id": "1", "task": "t"}, "properties": {"body_encoding": "base64"}}""")]
    [InlineData("""{"body": "!!!", "headers": {"id": "1", "task": "t"}, "properties": {"body_encoding": "base64"}}""")]
    [InlineData("""{"body": "W1tdLCB7fSwge31d", "content-type": "application/x-python-serialize", "headers": {"id": "1", "task": "t"}, "properties": {"body_encoding": "base64"}}""")]
    [InlineData("""{"body": "W1tdLCB7fSwge31d", "headers": {"id": "1", "task": "t", "eta": "tomorrow"}, "properties": {"body_encoding": "base64"}}""")]
    public void Malformed_messages_throw_a_clear_format_error(string raw)
    {
        var ex = Assert.Throws<MessageFormatException>(() => TaskEnvelope.Decode(Encoding.UTF8.GetBytes(raw)));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    private static TaskMessage Decode(string relative)
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, relative));
        return TaskEnvelope.Decode(Encoding.UTF8.GetBytes(Messages(vector).First()["raw"]!.GetValue<string>())).Message;
    }

    private static IEnumerable<JsonObject> Messages(JsonObject vector) => vector["messages"]!.AsArray().Select(m => m!.AsObject());

    private static bool HasTaskMessages(string path)
    {
        var vector = CeleryVectors.Load(path);
        return vector["messages"] is JsonArray { Count: > 0 } messages
            && messages.All(m => m?["raw"] is not null || m?["body_b64"] is not null);
    }

    /// <summary>Every <c>stored_value</c> string anywhere in a result capture.</summary>
    private static IEnumerable<string> StoredValues(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "stored_value" && value is JsonValue v && v.TryGetValue(out string? s)) yield return s;
                    else foreach (var inner in StoredValues(value)) yield return inner;
                }
                break;
            case JsonArray array:
                foreach (var item in array) foreach (var inner in StoredValues(item)) yield return inner;
                break;
        }
    }
}
