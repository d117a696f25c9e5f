using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.RabbitMQ.Tests;

/// <summary>
/// The shared broadcast suite on a real RabbitMQ. AMQP carries the kombu envelope as properties and a payload, so the
/// suite's payloads travel inside envelopes and are compared after unwrapping.
/// </summary>
public sealed class RabbitMQBroadcastConformanceTests : BroadcastConformanceTests
{
    protected override Task<ITransport> CreateTransportAsync() => Task.FromResult<ITransport>(TestBroker.NewTransport());

    protected override byte[] Body(byte[] payload) => JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["body"] = Convert.ToBase64String(payload),
        ["content-encoding"] = "binary",
        ["content-type"] = "application/octet-stream",
        ["headers"] = new JsonObject(),
        ["properties"] = new JsonObject { ["delivery_mode"] = 1, ["priority"] = 0, ["body_encoding"] = "base64", ["delivery_tag"] = Guid.NewGuid().ToString() },
    });

    protected override byte[] Payload(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        return Convert.FromBase64String(document.RootElement.GetProperty("body").GetString()!);
    }
}
