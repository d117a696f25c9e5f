using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Control;

namespace Fennel.Cli.Output;

/// <summary>
/// How <c>inspect</c> and <c>control</c> show replies to a person: a table or a short block per method, for Fennel and
/// Python workers alike (both answer in Celery's formats). Anything it does not know is shown as indented JSON.
/// </summary>
internal static class ReplyViews
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Compact JSON for people and scripts alike: <c>+</c>, quotes and non-ASCII text written as they are.</summary>
    public static JsonSerializerOptions JsonOptions => Compact;

    /// <summary>The replies as one JSON object keyed by node, as <c>celery inspect --json</c> prints them.</summary>
    public static string Json(IEnumerable<ControlReply> replies)
    {
        var all = new JsonObject();
        foreach (var reply in replies) all[reply.Node] = reply.Payload?.DeepClone();
        return all.ToJsonString(Compact);
    }

    /// <summary>The error a node replied with (<c>{"error": "..."}</c>), or null.</summary>
    public static string? ErrorOf(ControlReply reply) =>
        reply.Payload is JsonObject o && o["error"] is JsonValue error && error.TryGetValue(out string? text) ? text : null;

    /// <summary>The human view of <paramref name="replies"/> to <paramref name="method"/>.</summary>
    public static string Render(string method, IReadOnlyList<ControlReply> replies, DateTimeOffset now)
    {
        var ordered = replies.OrderBy(r => r.Node, StringComparer.Ordinal).ToList();
        var ok = ordered.Where(r => ErrorOf(r) is null).ToList();
        var text = new StringBuilder();
        var body = method switch
        {
            "ping" => Ping(ok),
            "active" => Requests(ok, "active", now),
            "reserved" => Requests(ok, "reserved", now),
            "scheduled" => Scheduled(ok),
            "registered" => Registered(ok),
            "active_queues" => Queues(ok),
            "revoked" => Revoked(ok),
            "query_task" => QueryTask(ok, now),
            "stats" => Stats(ok),
            _ => Generic(ok),
        };
        if (body.Length > 0) text.AppendLine(body);
        foreach (var failed in ordered.Where(r => ErrorOf(r) is not null)) text.AppendLine(CultureInfo.InvariantCulture, $"{failed.Node}: error: {ErrorOf(failed)}");
        return text.ToString().TrimEnd();
    }

    private static string Ping(IReadOnlyList<ControlReply> replies)
    {
        var table = new TextTable("NODE", "REPLY");
        foreach (var r in replies) table.Add(r.Node, r.Payload is JsonObject o && o["ok"] is { } pong ? Scalar(pong) : Scalar(r.Payload));
        return table + Environment.NewLine + Environment.NewLine + Nodes(replies.Count) + " online.";
    }

    private static string Requests(IReadOnlyList<ControlReply> replies, string what, DateTimeOffset now)
    {
        var table = new TextTable("NODE", "TASK ID", "NAME", "ARGS", "KWARGS", "STARTED");
        var idle = new List<string>();
        foreach (var r in replies)
        {
            var items = r.Payload as JsonArray ?? [];
            if (items.Count == 0) idle.Add(r.Node);
            foreach (var item in items.OfType<JsonObject>())
            {
                table.Add(r.Node, Scalar(item["id"]), Scalar(item["name"]), Scalar(item["args"]), Scalar(item["kwargs"]), Started(item["time_start"], now));
            }
        }
        return Combine(table, idle, $"no {what} tasks");
    }

    private static string Scheduled(IReadOnlyList<ControlReply> replies)
    {
        var table = new TextTable("NODE", "ETA", "TASK ID", "NAME", "ARGS");
        var idle = new List<string>();
        foreach (var r in replies)
        {
            var items = r.Payload as JsonArray ?? [];
            if (items.Count == 0) idle.Add(r.Node);
            foreach (var item in items.OfType<JsonObject>())
            {
                var request = item["request"] as JsonObject ?? [];
                table.Add(r.Node, Scalar(item["eta"]), Scalar(request["id"]), Scalar(request["name"]), Scalar(request["args"]));
            }
        }
        return Combine(table, idle, "no scheduled tasks");
    }

    private static string Registered(IReadOnlyList<ControlReply> replies)
    {
        var text = new StringBuilder();
        foreach (var r in replies)
        {
            var names = (r.Payload as JsonArray ?? []).Select(Scalar).ToList();
            text.AppendLine(CultureInfo.InvariantCulture, $"{r.Node}: {names.Count} task(s)");
            foreach (var name in names) text.AppendLine("  " + name);
        }
        return text.ToString().TrimEnd();
    }

    private static string Queues(IReadOnlyList<ControlReply> replies)
    {
        var table = new TextTable("NODE", "QUEUE", "EXCHANGE", "ROUTING KEY");
        foreach (var r in replies)
        {
            foreach (var queue in (r.Payload as JsonArray ?? []).OfType<JsonObject>())
            {
                var exchange = queue["exchange"] is JsonObject e ? $"{Scalar(e["name"])} ({Scalar(e["type"])})" : Scalar(queue["exchange"]);
                table.Add(r.Node, Scalar(queue["name"]), exchange, Scalar(queue["routing_key"]));
            }
        }
        return table.ToString();
    }

    private static string Revoked(IReadOnlyList<ControlReply> replies)
    {
        var table = new TextTable("NODE", "TASK ID");
        var none = new List<string>();
        foreach (var r in replies)
        {
            var ids = (r.Payload as JsonArray ?? []).Select(Scalar).ToList();
            if (ids.Count == 0) none.Add(r.Node);
            foreach (var id in ids) table.Add(r.Node, id);
        }
        return Combine(table, none, "no revoked tasks");
    }

    private static string Stats(IReadOnlyList<ControlReply> replies)
    {
        var text = new StringBuilder();
        foreach (var r in replies)
        {
            if (r.Payload is not JsonObject stats)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{r.Node}: {Scalar(r.Payload)}");
                continue;
            }
            var pool = stats["pool"] as JsonObject ?? [];
            var totals = (stats["total"] as JsonObject ?? []).Select(t => (Name: t.Key, Count: Number(t.Value) ?? 0)).OrderByDescending(t => t.Count).ToList();
            var broker = stats["broker"] as JsonObject ?? [];
            text.AppendLine(r.Node);
            Row(text, "pid", Scalar(stats["pid"]));
            Row(text, "uptime", Number(stats["uptime"]) is { } up ? Duration(TimeSpan.FromSeconds(up)) : "");
            Row(text, "concurrency", Scalar(pool["max-concurrency"]) + (pool["implementation"] is { } impl ? $" ({Scalar(impl)})" : ""));
            Row(text, "prefetch", Scalar(stats["prefetch_count"]));
            Row(text, "processed", $"{totals.Sum(t => t.Count)}" + (totals.Count == 0 ? "" : " (" + string.Join(", ", totals.Take(5).Select(t => $"{t.Name} {t.Count}")) + (totals.Count > 5 ? ", …" : "") + ")"));
            Row(text, "broker", $"{Scalar(broker["transport"])}://{Scalar(broker["hostname"])}" + (broker["port"] is { } port ? ":" + Scalar(port) : ""));
            Row(text, "clock", Scalar(stats["clock"]));
            text.AppendLine();
        }
        return text.ToString().TrimEnd();
    }

    private static string Generic(IReadOnlyList<ControlReply> replies)
    {
        var text = new StringBuilder();
        foreach (var r in replies)
        {
            var shown = r.Payload is JsonObject o && o.Count == 1 && o["ok"] is JsonValue ok ? Scalar(ok) : r.Payload?.ToJsonString(Indented) ?? "null";
            text.AppendLine(shown.Contains('\n', StringComparison.Ordinal) ? $"{r.Node}:\n{Indent(shown)}" : $"{r.Node}: {shown}");
        }
        return text.ToString().TrimEnd();
    }

    /// <summary><c>query_task</c>'s <c>{id: [state, request]}</c> per node, one row per task a node holds.</summary>
    private static string QueryTask(IReadOnlyList<ControlReply> replies, DateTimeOffset now)
    {
        var table = new TextTable("NODE", "TASK ID", "STATE", "NAME", "ARGS", "KWARGS", "STARTED");
        var none = new List<string>();
        foreach (var r in replies)
        {
            var found = r.Payload as JsonObject ?? [];
            if (found.Count == 0) none.Add(r.Node);
            foreach (var (id, entry) in found)
            {
                var request = entry is JsonArray { Count: 2 } pair ? pair[1] as JsonObject : null;
                table.Add(r.Node, id, entry is JsonArray { Count: > 0 } e ? Scalar(e[0]) : "", Scalar(request?["name"]), Scalar(request?["args"]),
                    Scalar(request?["kwargs"]), Started(request?["time_start"], now));
            }
        }
        return Combine(table, none, "none of these tasks");
    }

    private static string Combine(TextTable table, List<string> idle, string what)
    {
        var text = table.Count > 0 ? table.ToString() : "";
        if (idle.Count > 0) text += (text.Length > 0 ? Environment.NewLine + Environment.NewLine : "") + $"{string.Join(", ", idle)}: {what}";
        return text;
    }

    private static void Row(StringBuilder text, string name, string value) => text.AppendLine(CultureInfo.InvariantCulture, $"  {name,-12} {value}");

    private static string Started(JsonNode? timeStart, DateTimeOffset now)
    {
        if (Number(timeStart) is not { } seconds || seconds <= 0) return "";
        var started = DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
        var age = now - started;
        return age < TimeSpan.Zero || age > TimeSpan.FromDays(365) ? "" : Duration(age) + " ago";
    }

    /// <summary>A short human duration: <c>850 ms</c>, <c>12.3 s</c>, <c>4 min 05 s</c>, <c>2 h 07 min</c>.</summary>
    public static string Duration(TimeSpan span) => span.TotalSeconds switch
    {
        < 1 => $"{span.TotalMilliseconds:0} ms",
        < 60 => $"{span.TotalSeconds:0.0} s",
        < 3600 => $"{(int)span.TotalMinutes} min {span.Seconds:00} s",
        _ => $"{(int)span.TotalHours} h {span.Minutes:00} min",
    };

    private static string Nodes(int count) => count == 1 ? "1 node" : $"{count} nodes";

    private static string Indent(string text) => string.Join(Environment.NewLine, text.Split('\n').Select(l => "    " + l.TrimEnd('\r')));

    private static double? Number(JsonNode? node) => node is JsonValue v
        ? v.TryGetValue(out double d) ? d : v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) ? p : null
        : null;

    /// <summary>A value as text: strings bare, everything else as compact JSON, null as empty.</summary>
    public static string Scalar(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(Compact),
    };
}
