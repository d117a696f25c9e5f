using System.Text;
using Fennel.Testing;
using Fennel.Transport;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ.Tests;

/// <summary>
/// The shared malformed-message suite on RabbitMQ. There is no kombu JSON envelope on AMQP (headers and properties are
/// AMQP fields, the body is raw), so each bad message is the closest real equivalent, published with a plain client as a
/// broken producer would: duplicate JSON keys in the task body's kwargs; for "not base64", a body that is not valid UTF-8
/// JSON (the body's own encoding is what can be wrong here); and arguments nested 10,000 deep.
/// </summary>
public sealed class RabbitMQMalformedMessageTests : MalformedMessageConformanceTests
{
    protected override string BrokerUrl => TestBroker.Url();

    protected override Task PutStoredAsync(ITransport transport, string queue, byte[] stored) =>
        throw new NotSupportedException("AMQP carries no stored kombu envelope; each case publishes AMQP fields itself.");

    protected override async Task<string> PutDuplicateKeysAsync(ITransport transport, string queue)
    {
        await PublishAsync(queue, "dup-1", """[[1], {"x": 1, "x": 2}, {}]"""u8.ToArray());
        return "Duplicate property 'x'";
    }

    protected override async Task<string> PutUndecodableBodyAsync(ITransport transport, string queue)
    {
        await PublishAsync(queue, "utf8-1", [.. "[[\""u8, 0xff, 0xfe, .. "\"], {}, {}]"u8]);
        return "not valid UTF-8";
    }

    protected override async Task<string> PutDeeplyNestedAsync(ITransport transport, string queue)
    {
        await PublishAsync(queue, "deep-1", DeeplyNestedBody);
        return "depth";
    }

    private static async Task PublishAsync(string queue, string id, byte[] body)
    {
        await using var raw = await RawBroker.OpenAsync();
        var properties = new BasicProperties
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            CorrelationId = id,
            DeliveryMode = DeliveryModes.Persistent,
            Headers = new Dictionary<string, object?>
            {
                ["lang"] = Encoding.UTF8.GetBytes("py"),
                ["task"] = Encoding.UTF8.GetBytes("tests.echo"),
                ["id"] = Encoding.UTF8.GetBytes(id),
            },
        };
        await raw.Channel.BasicPublishAsync("", queue, mandatory: true, properties, body);
    }
}
