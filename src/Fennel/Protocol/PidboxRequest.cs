using System.Text;
using System.Text.Json.Nodes;

namespace Fennel.Protocol;

/// <summary>
/// Celery's remote-control requests on the <c>celery.pidbox</c> fan-out (<c>../shared/celery-protocol/README.md</c> §6):
/// a kombu envelope around <c>{"method", "arguments", "destination", "pattern", "matcher"}</c>, with the headers
/// <c>clock</c> and <c>expires</c> (Unix time after which a worker ignores it). Only what Fennel sends today: revoke.
/// </summary>
internal static class PidboxRequest
{
    /// <summary>The fan-out exchange every Celery worker's pidbox queue is bound to.</summary>
    public const string Exchange = "celery.pidbox";

    /// <summary>
    /// How long a request stays valid. kombu uses the reply timeout (1 s); a revoke is harmless when late, so a minute
    /// covers clock skew between the sender and the workers.
    /// </summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);

    /// <summary>
    /// <c>revoke</c> as <c>app.control.revoke(ids, terminate=..., signal='SIGTERM')</c> sends it: one id as a string, many
    /// as a list; no reply wanted (no <c>ticket</c> or <c>reply_to</c>).
    /// </summary>
    public static byte[] Revoke(IReadOnlyList<string> taskIds, bool terminate, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfZero(taskIds.Count);
        JsonNode ids = taskIds.Count == 1 ? JsonValue.Create(taskIds[0]) : new JsonArray([.. taskIds.Select(id => (JsonNode?)JsonValue.Create(id))]);
        return Encode("revoke", new JsonObject { ["task_id"] = ids, ["terminate"] = terminate, ["signal"] = "SIGTERM" }, now);
    }

    private static byte[] Encode(string method, JsonObject arguments, DateTimeOffset now)
    {
        var body = new JsonObject
        {
            ["method"] = method,
            ["arguments"] = arguments,
            ["destination"] = null,
            ["pattern"] = null,
            ["matcher"] = null,
        };
        var expires = (now + Lifetime).ToUnixTimeMilliseconds() / 1000.0;
        return Encoding.UTF8.GetBytes(new JsonObject
        {
            ["body"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(body.ToJsonString())),
            ["content-encoding"] = TaskMessageCodec.ContentEncoding,
            ["content-type"] = TaskMessageCodec.ContentType,
            ["headers"] = new JsonObject { ["clock"] = 1, ["expires"] = expires },
            ["properties"] = new JsonObject
            {
                ["delivery_mode"] = 2,
                ["delivery_info"] = new JsonObject { ["exchange"] = Exchange, ["routing_key"] = "" },
                ["priority"] = 0,
                ["body_encoding"] = "base64",
                ["delivery_tag"] = Guid.NewGuid().ToString(),
            },
        }.ToJsonString());
    }
}
