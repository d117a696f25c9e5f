using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;

namespace Fennel.Events;

/// <summary>
/// Reads and writes Celery's event JSON: one object per event, or a list of them (the <c>task.multi</c> batches a
/// Celery worker publishes). Unknown types decode to <see cref="UnknownEvent"/>, unknown fields to
/// <see cref="CeleryEvent.Extra"/>; input that is not an event throws <see cref="MessageFormatException"/>.
/// </summary>
internal static partial class CeleryEventCodec
{
    /// <summary>Decodes an event message body (UTF-8 JSON): one event object or a list of them.</summary>
    /// <exception cref="MessageFormatException">The body is not JSON, or not an event or a list of events.</exception>
    public static IReadOnlyList<CeleryEvent> DecodeBody(ReadOnlySpan<byte> utf8Json)
    {
        var decoded = new List<CeleryEvent>();
        if (TryDecodeBodyFast(utf8Json, decoded)) return decoded;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(utf8Json);
        }
        catch (JsonException e)
        {
            throw new MessageFormatException("A Celery event body is not valid JSON: " + e.Message, e);
        }
        return Decode(node);
    }

    /// <summary>Decodes a parsed event body: one event object or a list of them (<c>task.multi</c>).</summary>
    /// <exception cref="MessageFormatException">The node is not an event or a list of events.</exception>
    public static IReadOnlyList<CeleryEvent> Decode(JsonNode? body) => body switch
    {
        JsonObject single => [DecodeEvent(single)],
        JsonArray batch => [.. batch.Select((item, i) => item as JsonObject
            ?? throw new MessageFormatException($"Item {i} of a Celery event batch is {Kind(item)}, not an event object."))
            .Select(DecodeEvent)],
        _ => throw new MessageFormatException($"A Celery event body is {Kind(body)}; expected an event object or a list of them."),
    };

    /// <summary>Decodes one event object.</summary>
    /// <exception cref="MessageFormatException">A required field (<c>type</c>, <c>hostname</c>, <c>timestamp</c>, a task event's <c>uuid</c>) is missing, or a field has the wrong JSON type.</exception>
    public static CeleryEvent DecodeEvent(JsonObject fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var type = fields["type"] is JsonValue t && t.TryGetValue(out string? s) && s.Length > 0
            ? s
            : throw new MessageFormatException($"A Celery event has no 'type' string: {Abbreviate(fields)}");
        var r = new FieldReader(fields, type);
        r.Use("type");
        CeleryEvent e = type switch
        {
            "task-sent" => Description(r, new TaskSentEvent
            {
                Hostname = "", Timestamp = 0, TaskId = "",
                Queue = r.String("queue"), Exchange = r.String("exchange"), RoutingKey = r.String("routing_key"),
            }),
            "task-received" => Description(r, new TaskReceivedEvent { Hostname = "", Timestamp = 0, TaskId = "" }),
            "task-started" => new TaskStartedEvent { Hostname = "", Timestamp = 0, TaskId = "" },
            "task-succeeded" => new TaskSucceededEvent
            {
                Hostname = "", Timestamp = 0, TaskId = "", Result = r.Repr("result"), Runtime = r.Double("runtime"),
            },
            "task-failed" => new TaskFailedEvent
            {
                Hostname = "", Timestamp = 0, TaskId = "", Exception = r.Repr("exception"), Traceback = r.String("traceback"),
            },
            "task-retried" => new TaskRetriedEvent
            {
                Hostname = "", Timestamp = 0, TaskId = "", Exception = r.Repr("exception"), Traceback = r.String("traceback"),
            },
            "task-revoked" => new TaskRevokedEvent
            {
                Hostname = "", Timestamp = 0, TaskId = "",
                Terminated = r.Bool("terminated"), Signum = r.Int("signum"), Expired = r.Bool("expired"),
            },
            "task-rejected" => new TaskRejectedEvent { Hostname = "", Timestamp = 0, TaskId = "", Requeue = r.Bool("requeue") },
            "worker-online" => Worker(r, new WorkerOnlineEvent { Hostname = "", Timestamp = 0 }),
            "worker-heartbeat" => Worker(r, new WorkerHeartbeatEvent { Hostname = "", Timestamp = 0 }),
            "worker-offline" => Worker(r, new WorkerOfflineEvent { Hostname = "", Timestamp = 0 }),
            _ => new UnknownEvent { EventType = type, Hostname = "", Timestamp = 0 },
        };
        if (e is TaskEvent task)
            e = task with { TaskId = r.String("uuid") ?? throw r.Error("has no 'uuid' (the task id)") };
        return e with
        {
            Hostname = r.String("hostname") ?? throw r.Error("has no 'hostname'"),
            Timestamp = r.Double("timestamp") ?? throw r.Error("has no 'timestamp'"),
            UtcOffset = r.Int("utcoffset"),
            Pid = r.Int("pid"),
            Clock = r.Long("clock"),
            Extra = r.Rest(),
        };
    }

    /// <summary>Writes an event as Celery does: the common fields, the type's fields, any <see cref="CeleryEvent.Extra"/>, then <c>timestamp</c> and <c>type</c>.</summary>
    public static JsonObject Encode(CeleryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var o = new JsonObject { ["hostname"] = e.Hostname };
        if (e.UtcOffset is { } utcOffset) o["utcoffset"] = utcOffset;
        if (e.Pid is { } pid) o["pid"] = pid;
        if (e.Clock is { } clock) o["clock"] = clock;
        if (e is TaskEvent task) o["uuid"] = task.TaskId;
        switch (e)
        {
            case TaskDescriptionEvent d:
                o["root_id"] = d.RootId;
                o["parent_id"] = d.ParentId;
                o["name"] = d.Name;
                o["args"] = d.Args;
                o["kwargs"] = d.Kwargs;
                o["retries"] = d.Retries;
                o["eta"] = d.Eta;
                o["expires"] = d.Expires;
                if (d is TaskSentEvent sent)
                {
                    o["queue"] = sent.Queue;
                    o["exchange"] = sent.Exchange;
                    o["routing_key"] = sent.RoutingKey;
                }
                break;
            case TaskSucceededEvent s:
                o["result"] = s.Result;
                o["runtime"] = s.Runtime;
                break;
            case TaskExceptionEvent x:
                o["exception"] = x.Exception;
                o["traceback"] = x.Traceback;
                break;
            case TaskRevokedEvent r:
                o["terminated"] = r.Terminated;
                o["signum"] = r.Signum;
                o["expired"] = r.Expired;
                break;
            case TaskRejectedEvent j:
                o["requeue"] = j.Requeue;
                break;
            case WorkerEvent w:
                if (w.Freq is { } freq) o["freq"] = freq;
                if (w.Active is { } active) o["active"] = active;
                if (w.Processed is { } processed) o["processed"] = processed;
                if (w.LoadAverage is { } load) o["loadavg"] = new JsonArray([.. load.Select(l => (JsonNode?)l)]);
                if (w.SoftwareIdentity is { } ident) o["sw_ident"] = ident;
                if (w.SoftwareVersion is { } ver) o["sw_ver"] = ver;
                if (w.SoftwareSystem is { } sys) o["sw_sys"] = sys;
                break;
        }
        foreach (var (name, value) in e.Extra) o[name] = value?.DeepClone();
        o["timestamp"] = e.Timestamp;
        o["type"] = e.Type;
        return o;
    }

    /// <summary>Writes a <c>task.multi</c> batch: a list of events.</summary>
    public static JsonArray EncodeBatch(IEnumerable<CeleryEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return [.. events.Select(e => (JsonNode?)Encode(e))];
    }

    /// <summary>The routing key of an event type on the <c>celeryev</c> exchange: <c>task-sent</c> → <c>task.sent</c>.</summary>
    public static string RoutingKey(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type.Replace('-', '.');
    }

    private static TEvent Description<TEvent>(FieldReader r, TEvent e) where TEvent : TaskDescriptionEvent => e with
    {
        Name = r.String("name"),
        Args = r.Repr("args"),
        Kwargs = r.Repr("kwargs"),
        RootId = r.String("root_id"),
        ParentId = r.String("parent_id"),
        Retries = r.Int("retries"),
        Eta = r.String("eta"),
        Expires = r.String("expires"),
    };

    private static TEvent Worker<TEvent>(FieldReader r, TEvent e) where TEvent : WorkerEvent => e with
    {
        Freq = r.Double("freq"),
        Active = r.Int("active"),
        Processed = r.Long("processed"),
        LoadAverage = r.Doubles("loadavg"),
        SoftwareIdentity = r.String("sw_ident"),
        SoftwareVersion = r.String("sw_ver"),
        SoftwareSystem = r.String("sw_sys"),
    };

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "a list",
        JsonObject => "an object",
        _ => "a " + node.GetValueKind().ToString().ToLowerInvariant(),
    };

    private static string Abbreviate(JsonNode node)
    {
        var text = node.ToJsonString();
        return text.Length <= 200 ? text : text[..200] + "…";
    }

    /// <summary>Reads typed fields from one event object, remembering which it used so the rest become <see cref="CeleryEvent.Extra"/>.</summary>
    private sealed class FieldReader(JsonObject fields, string type)
    {
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        public void Use(string name) => _used.Add(name);

        public string? String(string name)
        {
            _used.Add(name);
            return fields[name] switch
            {
                null => null,
                JsonValue v when v.TryGetValue(out string? s) => s,
                var other => throw Error($"has '{name}' as {Kind(other)}, expected a string"),
            };
        }

        /// <summary>A Python repr field: a string on the wire; any other JSON value is kept as its JSON text.</summary>
        public string? Repr(string name)
        {
            _used.Add(name);
            return fields[name] switch
            {
                null => null,
                JsonValue v when v.TryGetValue(out string? s) => s,
                var other => other.ToJsonString(),
            };
        }

        public int? Int(string name) => Number(name, static (JsonValue v, out int i) => v.TryGetValue(out i), "an integer");

        public long? Long(string name) => Number(name, static (JsonValue v, out long l) => v.TryGetValue(out l), "an integer");

        public double? Double(string name) => Number(name, static (JsonValue v, out double d) => v.TryGetValue(out d), "a number");

        public bool? Bool(string name) => Number(name, static (JsonValue v, out bool b) => v.TryGetValue(out b), "true or false");

        public IReadOnlyList<double>? Doubles(string name)
        {
            _used.Add(name);
            switch (fields[name])
            {
                case null: return null;
                case JsonArray array:
                    var values = new double[array.Count];
                    for (var i = 0; i < values.Length; i++)
                        values[i] = array[i] is JsonValue v && v.TryGetValue(out double d) ? d : throw Error($"has a non-number in '{name}'");
                    return values;
                case var other: throw Error($"has '{name}' as {Kind(other)}, expected a list of numbers");
            }
        }

        public JsonObject Rest()
        {
            var rest = new JsonObject();
            foreach (var (name, value) in fields)
                if (!_used.Contains(name)) rest[name] = value?.DeepClone();
            return rest;
        }

        public MessageFormatException Error(string what) =>
            new($"Celery event '{type}' {what}: {Abbreviate(fields)}");

        private delegate bool TryRead<T>(JsonValue value, out T result);

        private T? Number<T>(string name, TryRead<T> read, string expected) where T : struct
        {
            _used.Add(name);
            return fields[name] switch
            {
                null => null,
                JsonValue v when read(v, out var result) => result,
                // A value built in code (JsonValue.Create(2)) converts only to its own CLR type; its JSON text converts like a parsed one.
                JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
                    && JsonNode.Parse(v.ToJsonString()) is JsonValue parsed && read(parsed, out var result) => result,
                var other => throw Error($"has '{name}' as {Kind(other)}, expected {expected}"),
            };
        }
    }
}
