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
        await Task.Delay(300);
        Assert.False(workerEvents.Reader.TryRead(out _));
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
}
