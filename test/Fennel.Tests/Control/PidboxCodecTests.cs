using System.Text.Json.Nodes;
using System.Text;
using Fennel.Control;
using Fennel.Python;
using Fennel.Testing;

namespace Fennel.Tests.Control;

/// <summary>Every captured Celery pidbox request and reply decodes, and encodes back to Celery's exact body bytes.</summary>
public class PidboxCodecTests
{
    public static TheoryData<string> Vectors()
    {
        var data = new TheoryData<string>();
        foreach (var broker in new[] { "redis", "amqp" })
        {
            foreach (var file in CeleryVectors.Files(Path.Combine("control", broker))) data.Add(Path.GetRelativePath(CeleryVectors.Root, file));
        }
        return data;
    }

    /// <summary>The kombu envelope of a captured message: as sent on Redis, rebuilt from the AMQP properties otherwise.</summary>
    private static byte[] Envelope(JsonObject captured)
    {
        if (captured["raw"] is JsonValue raw) return Encoding.UTF8.GetBytes(raw.GetValue<string>());
        var properties = captured["properties"]!.AsObject();
        return Encoding.UTF8.GetBytes(new JsonObject
        {
            ["body"] = captured["body_b64"]!.GetValue<string>(),
            ["content-encoding"] = "utf-8",
            ["content-type"] = "application/json",
            ["headers"] = properties["headers"]!.DeepClone(),
            ["properties"] = new JsonObject { ["body_encoding"] = "base64", ["delivery_mode"] = properties["delivery_mode"]!.DeepClone() },
        }.ToJsonString());
    }

    private static string BodyText(JsonObject captured) => captured["body_text"] is JsonValue text
        ? text.GetValue<string>()
        : Encoding.UTF8.GetString(Convert.FromBase64String(captured["envelope"]!["body"]!.GetValue<string>()));

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Celery_requests_decode_and_encode_back_to_the_same_body(string vector)
    {
        foreach (var exchange in CeleryVectors.Load(Path.Combine(CeleryVectors.Root, vector))["exchanges"]!.AsArray())
        {
            var captured = exchange!["request"]!.AsObject();
            var decoded = captured["body_decoded"]!.AsObject();

            var request = PidboxRequest.Decode(Envelope(captured));

            Assert.Equal(decoded["method"]!.GetValue<string>(), request.Method);
            Assert.True(JsonNode.DeepEquals(decoded["arguments"], request.Arguments));
            Assert.Null(request.Destination);
            Assert.Equal(decoded["ticket"]?.GetValue<string>(), request.Ticket);
            Assert.Equal(decoded["reply_to"]?["routing_key"]?.GetValue<string>(), request.ReplyTo?.RoutingKey);
            Assert.True(request.Clock > 0);
            Assert.True(request.Expires > 1.7e9);
            Assert.Equal(BodyText(captured), PythonJson.Serialize(request.Body()));

            var again = PidboxRequest.Decode(request.Encode());
            Assert.Equal(request.Expires, again.Expires);
            Assert.Equal(request.Clock, again.Clock);
            Assert.Equal(BodyText(captured), PythonJson.Serialize(again.Body()));
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Celery_replies_decode_and_encode_back_to_the_same_body(string vector)
    {
        foreach (var exchange in CeleryVectors.Load(Path.Combine(CeleryVectors.Root, vector))["exchanges"]!.AsArray())
        {
            var ticket = exchange!["request"]!["body_decoded"]!["ticket"]?.GetValue<string>();
            foreach (var reply in exchange["replies"]!.AsArray())
            {
                var captured = reply!.AsObject();
                var decoded = captured["body_decoded"]!.AsObject();

                var replies = PidboxReply.Decode(Envelope(captured));

                var one = Assert.Single(replies);
                Assert.Equal(decoded.Single().Key, one.Node);
                Assert.True(JsonNode.DeepEquals(decoded.Single().Value, one.Payload));
                Assert.Equal(ticket, one.Ticket);
                Assert.True(one.Clock > 0);
                var routingKey = exchange["request"]!["body_decoded"]!["reply_to"]!["routing_key"]!.GetValue<string>();
                var encoded = KombuEnvelopeBody(one.Encode(new PidboxAddress("reply.celery.pidbox", routingKey)));
                Assert.Equal(BodyText(captured), encoded);
            }
        }
    }

    [Fact]
    public void A_request_without_replies_has_no_ticket_or_reply_to_and_keys_in_celerys_order()
    {
        var request = PidboxRequest.Revoke(["a", "b"], terminate: true) with { Clock = 3, Expires = 1795608015.482958 };

        var envelope = Fennel.Protocol.KombuEnvelope.Decode(request.Encode());

        Assert.Equal("""{"method": "revoke", "arguments": {"task_id": ["a", "b"], "terminate": true, "signal": "SIGTERM"}, "destination": null, "pattern": null, "matcher": null}""",
            Encoding.UTF8.GetString(envelope.Body));
        Assert.Equal(3, envelope.Headers["clock"]!.GetValue<long>());
        Assert.Equal(1795608015.482958, envelope.Headers["expires"]!.GetValue<double>());
        Assert.Equal(2, envelope.DeliveryMode);
        Assert.Equal("celery.pidbox", envelope.Exchange);
    }

    [Fact]
    public void Whole_floats_stay_floats_for_python_and_text_is_ascii_as_json_dumps_writes_it()
    {
        var body = new JsonObject { ["t"] = PythonJson.Float(1795608015), ["n"] = 5, ["s"] = "café \"x\"", ["l"] = new JsonArray(1, null, true) };

        Assert.Equal("""{"t": 1795608015.0, "n": 5, "s": "caf\u00e9 \"x\"", "l": [1, null, true]}""", PythonJson.Serialize(body));
    }

    [Theory]
    [InlineData("celery@*", "glob", "celery@host", true)]
    [InlineData("celery@*", "glob", "other@host", false)]
    [InlineData("*@h?st", "glob", "a@host", true)]
    [InlineData("[ab]@host", "glob", "b@host", true)]
    [InlineData("[!ab]@host", "glob", "b@host", false)]
    [InlineData("celery", "pcre", "celery@host", true)]
    [InlineData("host", "pcre", "celery@host", false)]
    [InlineData(".*@host$", "pcre", "celery@host", true)]
    public void Patterns_match_node_names_as_kombu_does(string pattern, string matcher, string node, bool expected)
    {
        var request = new PidboxRequest("ping", []) { Pattern = pattern, Matcher = matcher };

        Assert.Equal(expected, NodeSelector.IsFor(request, node));
    }

    [Fact]
    public void A_destination_wins_over_a_pattern_and_an_empty_one_means_every_node()
    {
        Assert.True(NodeSelector.IsFor(new PidboxRequest("ping", []) { Destination = ["a@h"], Pattern = "zzz", Matcher = "glob" }, "a@h"));
        Assert.False(NodeSelector.IsFor(new PidboxRequest("ping", []) { Destination = ["a@h"] }, "b@h"));
        Assert.True(NodeSelector.IsFor(new PidboxRequest("ping", []) { Destination = [] }, "b@h"));
        Assert.True(NodeSelector.IsFor(new PidboxRequest("ping", []) { Pattern = "zzz" }, "b@h")); // no matcher: kombu ignores the pattern
    }

    private static string KombuEnvelopeBody(byte[] envelope) => Encoding.UTF8.GetString(Fennel.Protocol.KombuEnvelope.Decode(envelope).Body);
}
