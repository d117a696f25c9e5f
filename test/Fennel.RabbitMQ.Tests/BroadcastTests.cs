using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Fennel.Transport;

namespace Fennel.RabbitMQ.Tests;

/// <summary>Fan-out on Celery's exchanges: events on the celeryev topic exchange, control on the celery.pidbox fanout.</summary>
public sealed class BroadcastTests
{
    private static byte[] Envelope(string body) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["body"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(body)),
        ["content-encoding"] = "utf-8",
        ["content-type"] = "application/json",
        ["headers"] = new JsonObject { ["hostname"] = "test@host" },
        ["properties"] = new JsonObject { ["delivery_mode"] = 1, ["body_encoding"] = "base64", ["delivery_tag"] = Guid.NewGuid().ToString() },
    }.ToJsonString());

    [Fact]
    public async Task Topic_subscribers_get_matching_events_and_fanout_subscribers_get_everything()
    {
        await using var transport = TestBroker.NewTransport();
        var workerEvents = Channel.CreateUnbounded<BroadcastMessage>();
        var allEvents = Channel.CreateUnbounded<BroadcastMessage>();
        var control = Channel.CreateUnbounded<BroadcastMessage>();
        await using var a = await transport.SubscribeAsync("celeryev", "worker.#", m => workerEvents.Writer.WriteAsync(m).AsTask());
        await using var b = await transport.SubscribeAsync("celeryev", "#", m => allEvents.Writer.WriteAsync(m).AsTask());
        await using var c = await transport.SubscribeAsync("celery.pidbox", "", m => control.Writer.WriteAsync(m).AsTask());

        await transport.BroadcastAsync("celeryev", "task.multi", Envelope("[{\"type\": \"task-started\"}]"));
        await transport.BroadcastAsync("celeryev", "worker.heartbeat", Envelope("{\"type\": \"worker-heartbeat\"}"));
        await transport.BroadcastAsync("celery.pidbox", "", Envelope("{\"method\": \"ping\"}"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var heartbeat = await workerEvents.Reader.ReadAsync(timeout.Token);
        Assert.Equal("worker.heartbeat", heartbeat.RoutingKey);
        Assert.Equal(["task.multi", "worker.heartbeat"], [(await allEvents.Reader.ReadAsync(timeout.Token)).RoutingKey, (await allEvents.Reader.ReadAsync(timeout.Token)).RoutingKey]);
        var ping = await control.Reader.ReadAsync(timeout.Token);
        var kombu = Fennel.Protocol.KombuEnvelope.Decode(ping.Body.Span);
        Assert.Equal("{\"method\": \"ping\"}", Encoding.UTF8.GetString(kombu.Body));
        Assert.Equal("test@host", (string?)kombu.Headers["hostname"]);
        // A later worker event is the next one worker.# gets: task.multi never reached it (a queue delivers in order).
        await transport.BroadcastAsync("celeryev", "worker.offline", Envelope("{\"type\": \"worker-offline\"}"));
        Assert.Equal("worker.offline", (await workerEvents.Reader.ReadAsync(timeout.Token)).RoutingKey);
    }

    [Fact]
    public async Task Exchanges_are_declared_with_Celerys_types()
    {
        await using var transport = TestBroker.NewTransport();
        await using (await transport.SubscribeAsync("celeryev", "#", _ => Task.CompletedTask))
        await using (await transport.SubscribeAsync("celery.pidbox", "", _ => Task.CompletedTask))
        await using (await transport.SubscribeAsync("reply.celery.pidbox", "some-oid", _ => Task.CompletedTask))
        {
            var exchanges = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_exchanges", "-q", "-p", TestBroker.VirtualHost, "name", "type", "durable");
            Assert.Contains("celeryev\ttopic\ttrue", exchanges, StringComparison.Ordinal);
            Assert.Contains("celery.pidbox\tfanout\tfalse", exchanges, StringComparison.Ordinal);
            Assert.Contains("reply.celery.pidbox\tdirect\tfalse", exchanges, StringComparison.Ordinal);
            var queues = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name", "auto_delete", "arguments");
            Assert.Contains("some-oid.reply.celery.pidbox\ttrue", queues, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_named_pidbox_subscriber_consumes_Celerys_node_queue_with_its_arguments()
    {
        var node = $"fennel-{Guid.NewGuid():N}@host";
        await using var transport = TestBroker.NewTransport();
        var received = Channel.CreateUnbounded<BroadcastMessage>();
        await using (await transport.SubscribeAsync("celery.pidbox", "", m => received.Writer.WriteAsync(m).AsTask(), subscriberName: node))
        {
            // As Celery declares it (kombu Mailbox.get_queue, captured routed_queues "capture@vm.celery.pidbox"): not durable,
            // auto-delete, messages live 300 s, the queue 10 s unused; bound to celery.pidbox with "".
            var queues = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name", "durable", "auto_delete", "arguments", "consumers");
            var line = Assert.Single(queues.Split('\n'), l => l.StartsWith($"{node}.celery.pidbox\t", StringComparison.Ordinal));
            Assert.StartsWith($"{node}.celery.pidbox\tfalse\ttrue\t", line, StringComparison.Ordinal);
            Assert.Contains("x-expires", line, StringComparison.Ordinal);
            Assert.Contains("10000", line, StringComparison.Ordinal);
            Assert.Contains("x-message-ttl", line, StringComparison.Ordinal);
            Assert.Contains("300000", line, StringComparison.Ordinal);
            Assert.EndsWith("\t1", line, StringComparison.Ordinal);
            var bindings = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_bindings", "-q", "-p", TestBroker.VirtualHost, "source_name", "destination_name", "routing_key");
            Assert.Contains($"celery.pidbox\t{node}.celery.pidbox\t", bindings, StringComparison.Ordinal);

            await transport.BroadcastAsync("celery.pidbox", "", Envelope("{\"method\": \"ping\"}"));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            Assert.Equal("celery.pidbox", (await received.Reader.ReadAsync(timeout.Token)).Exchange);
        }
    }

    [Fact]
    public async Task An_anonymous_pidbox_subscriber_keeps_a_queue_of_its_own()
    {
        await using var transport = TestBroker.NewTransport();
        var before = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name");
        await using (await transport.SubscribeAsync("celery.pidbox", "", _ => Task.CompletedTask))
        {
            var after = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name");
            var added = after.Split('\n').Except(before.Split('\n')).Where(l => l.EndsWith(".celery.pidbox", StringComparison.Ordinal)).ToList();
            Assert.True(Guid.TryParse(Assert.Single(added)[..^".celery.pidbox".Length], out _));
        }
    }
}
