using System.Text;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Transport;

namespace Fennel.Tests.Protocol;

/// <summary>The one kombu JSON encoder and its strict decoder: anything unreadable is one MessageFormatException.</summary>
public sealed class KombuEnvelopeTests
{
    private static byte[] Envelope(string headers = "\"id\": \"1\", \"task\": \"t\"", string body = "W1tdLCB7fSwge31d", string properties = "\"body_encoding\": \"base64\"") =>
        Encoding.UTF8.GetBytes("{\"body\": \"" + body + "\", \"content-type\": \"application/json\", \"content-encoding\": \"utf-8\", \"headers\": {"
            + headers + "}, \"properties\": {" + properties + "}}");

    [Fact]
    public void An_envelope_survives_encoding_and_decoding()
    {
        var envelope = new MessageEnvelope
        {
            Headers = new JsonObject { ["id"] = "1", ["n"] = 1L << 40 },
            Body = "[[2, 3], {}, {}]"u8.ToArray(),
            CorrelationId = "1",
            ReplyTo = "reply",
            DeliveryMode = 1,
            Priority = 7,
            Expiration = "1500",
            Exchange = "x",
            RoutingKey = "k",
            DeliveryTag = "tag",
        };
        var decoded = KombuEnvelope.Decode(KombuEnvelope.Encode(envelope));
        Assert.Equal(envelope.Body, decoded.Body);
        Assert.True(JsonNode.DeepEquals(envelope.Headers, decoded.Headers));
        Assert.Equal((envelope.CorrelationId, envelope.ReplyTo, envelope.DeliveryMode, envelope.Priority, envelope.Expiration, envelope.Exchange, envelope.RoutingKey, envelope.DeliveryTag),
            (decoded.CorrelationId, decoded.ReplyTo, decoded.DeliveryMode, decoded.Priority, decoded.Expiration, decoded.Exchange, decoded.RoutingKey, decoded.DeliveryTag));
    }

    [Theory]
    [InlineData("{\"body\": \"\", \"body\": \"\", \"headers\": {}}", "Duplicate property 'body'")]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("{\"body\": 1, \"headers\": {}}", "'body' should be a string")]
    [InlineData("{\"body\": \"\"}", "no 'headers'")]
    [InlineData("{\"body\": \"\", \"headers\": {}, \"properties\": {\"priority\": 99999999999}}", "out of range")]
    [InlineData("{\"body\": \"\", \"headers\": {}, \"properties\": {\"priority\": \"high\"}}", "'priority' should be a number")]
    [InlineData("{\"body\": \"\", \"headers\": {}, \"properties\": {\"delivery_info\": {\"exchange\": 1}}}", "should be a string")]
    [InlineData("{\"body\": \"\", \"headers\": {}, \"properties\": {\"delivery_tag\": \"a\", \"delivery_tag\": \"b\"}}", "Duplicate property 'delivery_tag'")]
    public void A_malformed_envelope_is_a_MessageFormatException_with_its_reason(string json, string reason)
    {
        var error = Assert.Throws<MessageFormatException>(() => KombuEnvelope.Decode(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_header_names_are_a_MessageFormatException_not_an_ArgumentException_on_first_access()
    {
        var error = Assert.Throws<MessageFormatException>(() => KombuEnvelope.Decode(Envelope("\"id\": \"1\", \"task\": \"t\", \"id\": \"2\"")));
        Assert.Contains("Duplicate property 'id'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_past_the_depth_limit_is_a_MessageFormatException()
    {
        var deep = new string('[', 10_000) + new string(']', 10_000);
        var error = Assert.Throws<MessageFormatException>(() => KombuEnvelope.Decode(Envelope("\"id\": \"1\", \"deep\": " + deep)));
        Assert.Contains("depth", error.Message, StringComparison.Ordinal);
        var justUnder = new string('[', KombuEnvelope.MaxDepth - 3) + new string(']', KombuEnvelope.MaxDepth - 3);
        Assert.NotNull(KombuEnvelope.Decode(Envelope("\"id\": \"1\", \"deep\": " + justUnder)));
    }

    [Fact]
    public void Invalid_utf8_anywhere_is_a_MessageFormatException()
    {
        byte[] bytes = [.. Envelope("\"id\": \"1\", \"x\": \"-\"")];
        bytes[Array.IndexOf(bytes, (byte)'-')] = 0xff;
        Assert.Contains("UTF-8", Assert.Throws<MessageFormatException>(() => KombuEnvelope.Decode(bytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_body_that_is_not_base64_is_a_MessageFormatException()
    {
        var error = Assert.Throws<MessageFormatException>(() => KombuEnvelope.Decode(Envelope(body: "%%%")));
        Assert.Contains("not base64", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[[1], {\"x\": 1, \"x\": 2}, {}]", "Duplicate property 'x'")]
    [InlineData("[[\"\\ud800\"], {}, {}]", "cannot be read")]
    [InlineData("[[1e999], {}, {}]", "")]
    public void A_task_body_that_cannot_be_read_is_a_MessageFormatException(string body, string reason)
    {
        var envelope = new MessageEnvelope { Headers = new JsonObject { ["id"] = "1", ["task"] = "t" }, Body = Encoding.UTF8.GetBytes(body) };
        try
        {
            var message = TaskMessageCodec.Decode(envelope);
            // A body System.Text.Json can hold (1e999 parses as a number token) must at least read back without throwing anything else.
            Assert.Equal("", reason);
            _ = message.Args.ToJsonString();
        }
        catch (MessageFormatException ex)
        {
            Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_delivery_of_malformed_bytes_is_fetched_and_fails_only_when_read_every_time()
    {
        var delivery = new Delivery("q", "{not json"u8.ToArray(), "tag", 1);
        Assert.Equal("{not json", Encoding.UTF8.GetString(delivery.Body.Span));
        var first = Assert.Throws<MessageFormatException>(() => delivery.Envelope);
        var second = Assert.Throws<MessageFormatException>(() => delivery.Envelope);
        Assert.Equal(first.Message, second.Message);
    }
}
