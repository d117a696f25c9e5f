using System.Text;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Transport;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ.Tests;

/// <summary>The envelope maps to AMQP headers and properties and back field by field, with no JSON in between.</summary>
public sealed class AmqpMessageTests
{
    [Fact]
    public void An_envelope_maps_to_AMQP_and_back()
    {
        var envelope = new MessageEnvelope
        {
            Headers = new JsonObject { ["id"] = "1", ["task"] = "t", ["big"] = 1L << 40, ["nested"] = new JsonObject { ["list"] = new JsonArray(1, "a") } },
            Body = "[[1], {}, {}]"u8.ToArray(),
            CorrelationId = "1",
            ReplyTo = "reply-queue",
            DeliveryMode = 1,
            Priority = 5,
            Expiration = "2500",
        };
        var properties = AmqpMessage.ToProperties(envelope);
        Assert.Equal((object?)(1L << 40), properties.Headers!["big"]);
        Assert.Equal(("1", "reply-queue", DeliveryModes.Transient, (byte)5, "2500"),
            (properties.CorrelationId, properties.ReplyTo, properties.DeliveryMode, properties.Priority, properties.Expiration));

        var back = AmqpMessage.ToEnvelope(envelope.Body, properties, "", "q", redelivered: false, "7");
        Assert.True(JsonNode.DeepEquals(envelope.Headers, back.Headers), back.Headers.ToJsonString());
        Assert.Equal((envelope.CorrelationId, envelope.ReplyTo, envelope.DeliveryMode, envelope.Priority, envelope.Expiration),
            (back.CorrelationId, back.ReplyTo, back.DeliveryMode, back.Priority, back.Expiration));
        Assert.Equal("q", back.RoutingKey);
    }

    [Fact]
    public void Fennel_and_client_headers_never_reach_the_envelope()
    {
        var properties = new BasicProperties
        {
            Headers = new Dictionary<string, object?>
            {
                ["id"] = Encoding.UTF8.GetBytes("1"),
                [AmqpMessage.LostDeliveriesHeader] = 2,
                [AmqpMessage.PublishSequenceHeader] = 99L,
            },
        };
        var envelope = AmqpMessage.ToEnvelope([], properties, "", "q", redelivered: true, "tag");
        Assert.Equal("""{"id":"1"}""", envelope.Headers.ToJsonString());
        Assert.True(envelope.Redelivered);
    }

    [Fact]
    public void A_header_that_is_not_UTF8_is_a_MessageFormatException_when_strict_and_replaced_when_shown()
    {
        var properties = new BasicProperties { Headers = new Dictionary<string, object?> { ["task"] = new byte[] { 0xff, 0xfe } } };
        var error = Assert.Throws<MessageFormatException>(() => AmqpMessage.ToEnvelope([], properties, "", "q", false, "tag"));
        Assert.Contains("'task'", error.Message, StringComparison.Ordinal);
        Assert.NotNull(AmqpMessage.ToKombuJson([], properties, "", "q", false, "tag"));
    }

    [Fact]
    public void A_task_read_from_AMQP_headers_keeps_its_numbers_time_limits_included()
    {
        var message = new TaskMessage { Id = "1", Task = "t", Retries = 2, TimeLimit = new TaskTimeLimit(null, 1), Args = [1] };
        var properties = AmqpMessage.ToProperties(TaskEnvelope.Create(message, "q", DateTimeOffset.UtcNow));
        // As RabbitMQ.Client hands them over: text as bytes, numbers as int.
        properties.Headers = properties.Headers!.ToDictionary(h => h.Key, h => h.Value is string s ? Encoding.UTF8.GetBytes(s) : h.Value);
        var read = TaskMessageCodec.Decode(AmqpMessage.ToEnvelope("[[1], {}, {}]"u8.ToArray(), properties, "", "q", false, "tag"));
        Assert.Equal(1, read.TimeLimit.Soft);
        Assert.Null(read.TimeLimit.Hard);
        Assert.Equal(2, read.Retries);
    }
}
