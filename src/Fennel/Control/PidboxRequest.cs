using System.Text.Json.Nodes;
using System.Text;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Transport;

namespace Fennel.Control;

/// <summary>
/// A remote-control request on the <c>celery.pidbox</c> fan-out (<c>test/vectors/celery-5.2.6/README.md</c> §6): a kombu
/// envelope around <c>{"method", "arguments", "destination", "pattern", "matcher"}</c> plus <c>"ticket"</c> and
/// <c>"reply_to"</c> when replies are wanted, with the headers <c>clock</c> and <c>expires</c> (Unix time after which a
/// worker ignores it; 0 for never).
/// </summary>
/// <param name="Method">The command: <c>ping</c>, <c>stats</c>, <c>revoke</c>, ...</param>
/// <param name="Arguments">Its keyword arguments, by Celery's names.</param>
internal sealed record PidboxRequest(string Method, JsonObject Arguments)
{
    /// <summary>The fan-out exchange every worker's pidbox queue is bound to.</summary>
    public const string Exchange = "celery.pidbox";

    /// <summary>The direct exchange replies go to, routed by the client's oid.</summary>
    public const string ReplyExchange = "reply.celery.pidbox";

    /// <summary>The nodes it is for; null or empty for all.</summary>
    public IReadOnlyList<string>? Destination { get; init; }

    /// <summary>With <see cref="Matcher"/>: the nodes it is for, by pattern (when there is no destination).</summary>
    public string? Pattern { get; init; }

    /// <summary><c>glob</c> (kombu's default) or <c>pcre</c>.</summary>
    public string? Matcher { get; init; }

    /// <summary>Identifies the replies to this request; null when no reply is wanted.</summary>
    public string? Ticket { get; init; }

    /// <summary>Where replies go; null when no reply is wanted.</summary>
    public PidboxAddress? ReplyTo { get; init; }

    /// <summary>The sender's Lamport clock.</summary>
    public long Clock { get; init; }

    /// <summary>Unix time (seconds) after which the request is ignored; null or 0 for never.</summary>
    public double? Expires { get; init; }

    /// <summary>True when a reply is wanted: both a ticket and an address.</summary>
    public bool WantsReply => Ticket is not null && ReplyTo is not null;

    /// <summary>
    /// <c>revoke</c> as <c>app.control.revoke(ids, terminate=..., signal='SIGTERM')</c> sends it: one id as a string, many
    /// as a list; no reply wanted.
    /// </summary>
    public static PidboxRequest Revoke(IReadOnlyList<string> taskIds, bool terminate)
    {
        ArgumentOutOfRangeException.ThrowIfZero(taskIds.Count);
        JsonNode ids = taskIds.Count == 1 ? JsonValue.Create(taskIds[0]) : new JsonArray([.. taskIds.Select(id => (JsonNode?)JsonValue.Create(id))]);
        return new PidboxRequest("revoke", new JsonObject { ["task_id"] = ids, ["terminate"] = terminate, ["signal"] = "SIGTERM" });
    }

    /// <summary>The body as Celery writes it, keys in Celery's order.</summary>
    public JsonObject Body()
    {
        var body = new JsonObject
        {
            ["method"] = Method,
            ["arguments"] = Arguments.DeepClone(),
            ["destination"] = Destination is null ? null : new JsonArray([.. Destination.Select(d => (JsonNode?)JsonValue.Create(d))]),
            ["pattern"] = Pattern,
            ["matcher"] = Matcher,
        };
        if (WantsReply)
        {
            body["ticket"] = Ticket;
            body["reply_to"] = new JsonObject { ["exchange"] = ReplyTo!.Exchange, ["routing_key"] = ReplyTo.RoutingKey };
        }
        return body;
    }

    /// <summary>The kombu envelope to broadcast (delivery mode 2, as Celery sends requests).</summary>
    public byte[] Encode()
    {
        var headers = new JsonObject { ["clock"] = Clock, ["expires"] = Expires is { } e ? PythonJson.Float(e) : 0 };
        return PidboxEnvelope.Encode(PythonJson.Serialize(Body()), headers, Exchange, "", deliveryMode: 2);
    }

    /// <summary>Reads a request from its kombu envelope.</summary>
    /// <exception cref="MessageFormatException">Not a pidbox request: not an envelope, no method, arguments not an object.</exception>
    public static PidboxRequest Decode(ReadOnlySpan<byte> envelope)
    {
        var kombu = KombuEnvelope.Decode(envelope);
        if (kombu.BodyJson() is not JsonObject body) throw new MessageFormatException("The pidbox request body is not a JSON object.");
        var method = body["method"] is JsonValue m && m.TryGetValue(out string? name) && name.Length > 0
            ? name
            : throw new MessageFormatException("The pidbox request has no 'method'.");
        var arguments = body["arguments"] switch
        {
            null => [],
            JsonObject o => (JsonObject)o.DeepClone(),
            _ => throw new MessageFormatException($"The pidbox request's 'arguments' for {method} is not an object."),
        };
        IReadOnlyList<string>? destination = body["destination"] switch
        {
            null => null,
            JsonArray a => [.. a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : throw new MessageFormatException("A pidbox destination is not a node name."))],
            JsonValue v when v.TryGetValue(out string? one) => [one],
            _ => throw new MessageFormatException("The pidbox request's 'destination' is not a list of node names."),
        };
        PidboxAddress? replyTo = null;
        if (body["reply_to"] is JsonObject r)
        {
            var exchange = r["exchange"] is JsonValue ex && ex.TryGetValue(out string? x) ? x : null;
            var key = r["routing_key"] is JsonValue rk && rk.TryGetValue(out string? k) ? k : null;
            if (exchange is not null && key is not null) replyTo = new PidboxAddress(exchange, key);
        }
        return new PidboxRequest(method, arguments)
        {
            Destination = destination,
            Pattern = Text(body["pattern"]),
            Matcher = Text(body["matcher"]),
            Ticket = Text(body["ticket"]),
            ReplyTo = replyTo,
            Clock = PidboxEnvelope.Number(kombu.Headers["clock"]) is { } c ? (long)c : 0,
            Expires = PidboxEnvelope.Number(kombu.Headers["expires"]),
        };
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}

/// <summary>An exchange and routing key: where a reply goes.</summary>
/// <param name="Exchange">The exchange (<c>reply.celery.pidbox</c>).</param>
/// <param name="RoutingKey">The client's oid.</param>
internal sealed record PidboxAddress(string Exchange, string RoutingKey);

/// <summary>
/// A reply to a pidbox request: body <c>{node: payload}</c>, headers <c>ticket</c> (the request's) and <c>clock</c>,
/// delivery mode 1.
/// </summary>
/// <param name="Node">The replying node.</param>
/// <param name="Payload">What it answered.</param>
/// <param name="Ticket">The request's ticket; null when the sender set none.</param>
/// <param name="Clock">The replier's Lamport clock.</param>
internal sealed record PidboxReply(string Node, JsonNode? Payload, string? Ticket, long Clock)
{
    /// <summary>The kombu envelope to send to <paramref name="to"/>.</summary>
    public byte[] Encode(PidboxAddress to)
    {
        var body = new JsonObject { [Node] = Payload?.DeepClone() };
        return PidboxEnvelope.Encode(PythonJson.Serialize(body), new JsonObject { ["ticket"] = Ticket, ["clock"] = Clock }, to.Exchange, to.RoutingKey, deliveryMode: 1);
    }

    /// <summary>
    /// Reads the replies in an envelope: one per node in the body (Celery sends one node per message; a body with more is
    /// read as more replies, each with the message's ticket and clock).
    /// </summary>
    /// <exception cref="MessageFormatException">Not a pidbox reply.</exception>
    public static IReadOnlyList<PidboxReply> Decode(ReadOnlySpan<byte> envelope)
    {
        var kombu = KombuEnvelope.Decode(envelope);
        if (kombu.BodyJson() is not JsonObject body) throw new MessageFormatException("The pidbox reply body is not a JSON object {node: reply}.");
        var ticket = kombu.Headers["ticket"] is JsonValue t && t.TryGetValue(out string? s) ? s : null;
        var clock = PidboxEnvelope.Number(kombu.Headers["clock"]) is { } c ? (long)c : 0;
        return [.. body.Select(pair => new PidboxReply(pair.Key, pair.Value?.DeepClone(), ticket, clock))];
    }
}

/// <summary>The kombu envelope shared by requests and replies (as on Redis; the AMQP transport maps it to properties).</summary>
internal static class PidboxEnvelope
{
    public static byte[] Encode(string bodyJson, JsonObject headers, string exchange, string routingKey, int deliveryMode) =>
        KombuEnvelope.Encode(new MessageEnvelope
        {
            Headers = headers,
            Body = Encoding.UTF8.GetBytes(bodyJson),
            DeliveryMode = deliveryMode,
            Exchange = exchange,
            RoutingKey = routingKey,
        });

    public static double? Number(JsonNode? node) => node is JsonValue v
        ? v.TryGetValue(out double d) ? d
        : v.TryGetValue(out long l) ? l
        : v.TryGetValue(out int i) ? i
        : null
        : null;
}
