using System.Text;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Testing;
using Fennel.Transport;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ.Tests;

/// <summary>
/// What Fennel puts on RabbitMQ is what Celery puts there (test/vectors/celery-5.2.6/amqp/), and what Celery put there
/// Fennel reads: topology, properties, header names, order and field types.
/// </summary>
public sealed class CeleryWireTests
{
    private static readonly string[] CeleryHeaderOrder =
        ["lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit", "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result"];

    [Fact]
    public async Task Declares_a_durable_queue_bound_to_a_direct_exchange_of_its_name_as_a_Celery_client_does()
    {
        var queue = $"wire-{Guid.NewGuid():N}";
        await using (var transport = TestBroker.NewTransport()) await transport.DeclareQueueAsync(queue);

        var queues = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name", "durable", "auto_delete", "arguments");
        Assert.Contains($"{queue}\ttrue\tfalse\t[]", queues, StringComparison.Ordinal);
        var exchanges = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_exchanges", "-q", "-p", TestBroker.VirtualHost, "name", "type", "durable");
        Assert.Contains($"{queue}\tdirect\ttrue", exchanges, StringComparison.Ordinal);
        var bindings = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_bindings", "-q", "-p", TestBroker.VirtualHost, "source_name", "destination_name", "routing_key");
        Assert.Contains($"{queue}\t{queue}\t{queue}", bindings, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_task_is_published_to_the_default_exchange_with_Celerys_properties_and_headers()
    {
        var queue = $"wire-{Guid.NewGuid():N}";
        var message = new TaskMessage
        {
            Id = Guid.NewGuid().ToString(), Task = "tasks.add", RootId = "root", Origin = "gen1@test", ReplyTo = "reply-queue", Priority = 0,
            Expires = DateTimeOffset.UtcNow.AddSeconds(120), Args = [2, 3], Kwargs = [], ExtraHeaders = new JsonObject { ["x-tenant"] = "acme", ["x-big"] = 1L << 40 },
        };
        await using (var transport = TestBroker.NewTransport())
        {
            await transport.PublishAsync(new OutgoingMessage(queue, TaskEnvelope.Create(message, queue, DateTimeOffset.UtcNow)));
        }
        await using var raw = await RawBroker.OpenAsync();
        var got = await raw.GetAsync(queue);

        Assert.Equal(("", queue), (got.Exchange, got.RoutingKey));
        var p = got.BasicProperties;
        Assert.Equal(("application/json", "utf-8"), (p.ContentType, p.ContentEncoding));
        Assert.Equal(DeliveryModes.Persistent, p.DeliveryMode);
        Assert.Equal(message.Id, p.CorrelationId);
        Assert.Equal("reply-queue", p.ReplyTo);
        Assert.InRange(long.Parse(p.Expiration!, System.Globalization.CultureInfo.InvariantCulture), 110_000, 120_000);
        var headers = p.Headers!;
        Assert.Equal([.. CeleryHeaderOrder, "x-tenant", "x-big"], headers.Keys);
        Assert.Equal("tasks.add", Encoding.UTF8.GetString((byte[])headers["task"]!));
        Assert.IsType<int>(headers["retries"]);
        Assert.IsType<bool>(headers["ignore_result"]);
        Assert.Null(headers["shadow"]);
        Assert.Equal(new object?[] { null, null }, (IEnumerable<object?>)headers["timelimit"]!);
        // Beyond 32 bits: RabbitMQ's signed 64-bit 'l', never py-amqp's 'L'.
        Assert.Equal(1L << 40, Assert.IsType<long>(headers["x-big"]));
        var body = JsonNode.Parse(got.Body.Span)!.AsArray();
        Assert.Equal("[[2,3],{},{\"callbacks\":null,\"errbacks\":null,\"chain\":null,\"chord\":null}]", body.ToJsonString());
    }

    [Theory]
    [InlineData("task_add.json")]
    [InlineData("task_headers.json")]
    [InlineData("task_expires.json")]
    [InlineData("task_priority_9.json")]
    [InlineData("task_kwargs.json")]
    public async Task A_message_as_Celery_published_it_is_fetched_and_decoded(string vector)
    {
        var captured = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "amqp", vector))["messages"]![0]!.AsObject();
        var props = captured["properties"]!.AsObject();
        var queue = $"wire-{Guid.NewGuid():N}";
        await using var transport = TestBroker.NewTransport("?max_priority=10");
        await transport.DeclareQueueAsync(queue);
        var properties = new BasicProperties
        {
            ContentType = (string?)props["content_type"], ContentEncoding = (string?)props["content_encoding"],
            DeliveryMode = DeliveryModes.Persistent, Priority = (byte)(int)props["priority"]!,
            CorrelationId = (string?)props["correlation_id"], ReplyTo = (string?)props["reply_to"],
            Headers = AmqpMessage.ToTable(props["application_headers"]!.AsObject()),
        };
        await using (var raw = await RawBroker.OpenAsync())
        {
            await raw.Channel.BasicPublishAsync("", queue, false, properties, Convert.FromBase64String((string)captured["body_b64"]!));
        }

        var delivery = Assert.Single(await transport.FetchAsync([queue], 1, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(15)));
        var decoded = TaskEnvelope.Decode(delivery.Body.Span);

        var headers = props["application_headers"]!.AsObject();
        Assert.Equal((string?)headers["id"], decoded.Message.Id);
        Assert.Equal((string?)headers["task"], decoded.Message.Task);
        Assert.Equal((string?)props["reply_to"], decoded.Message.ReplyTo);
        Assert.Equal((int)props["priority"]!, decoded.Message.Priority);
        Assert.Equal(queue, decoded.RoutingKey);
        if (headers["x-tenant"] is { } tenant) Assert.Equal((string?)tenant, (string?)decoded.Message.ExtraHeaders["x-tenant"]);
        if (headers["expires"] is { } expires) Assert.Equal(DateTimeOffset.Parse((string)expires!, System.Globalization.CultureInfo.InvariantCulture), decoded.Message.Expires);
        await transport.AckAsync(delivery);
    }
}
