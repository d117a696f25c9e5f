using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Configuration;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Tasks;

namespace Fennel.Control;

/// <summary>
/// The commands a Fennel worker answers, with Celery's names, arguments and replies (<c>celery/worker/control.py</c>):
/// <c>{"ok": ...}</c> / <c>{"error": ...}</c> for controls, lists and objects for inspections.
/// </summary>
internal static class ControlCommands
{
    private static readonly Dictionary<string, Func<ControlContext, Task<JsonNode?>>> Commands = new(StringComparer.Ordinal)
    {
        ["ping"] = _ => Done(Ok("pong")),
        ["clock"] = c => Done(new JsonObject { ["clock"] = c.Worker.App.Clock.Value }),
        ["stats"] = c => Done(Stats(c.Worker)),
        ["active"] = c => Done(new JsonArray([.. c.Worker.TrackedRequests().Where(r => r.StartedAt is not null).Select(r => (JsonNode?)r.Info(c.Worker, Bool(c, "safe") ?? false))])),
        ["reserved"] = c => Done(new JsonArray([.. c.Worker.TrackedRequests().Where(r => r.StartedAt is null && !r.IsScheduled(c.Worker.Now)).Select(r => (JsonNode?)r.Info(c.Worker, false))])),
        ["scheduled"] = c => Done(Scheduled(c.Worker)),
        ["registered"] = Registered,
        ["active_queues"] = c => Done(new JsonArray([.. c.Worker.Queues.Select(q => (JsonNode?)QueueDict(q))])),
        ["revoked"] = c => Done(new JsonArray([.. c.Worker.RevokedSnapshot().Select(r => (JsonNode?)JsonValue.Create(r.Id))])),
        ["query_task"] = c => Done(QueryTask(c)),
        ["revoke"] = Revoke,
        ["terminate"] = c => Revoke(c with { Arguments = With(c.Arguments, "terminate", true) }),
        ["rate_limit"] = RateLimitCommand,
        ["time_limit"] = TimeLimit,
        ["pool_grow"] = PoolGrow,
        ["pool_shrink"] = PoolShrink,
        ["pool_restart"] = PoolRestart,
        ["add_consumer"] = AddConsumer,
        ["cancel_consumer"] = CancelConsumer,
        ["shutdown"] = Shutdown,
        ["enable_events"] = c => Done(TaskEvents(c, true)),
        ["disable_events"] = c => Done(TaskEvents(c, false)),
        ["heartbeat"] = Heartbeat,
        ["hello"] = c => Done(Hello(c)),
        ["conf"] = c => Done(Conf(c.Worker)),
    };

    static ControlCommands()
    {
        // Celery's aliases.
        Commands["dump_active"] = Commands["active"];
        Commands["dump_reserved"] = Commands["reserved"];
        Commands["dump_schedule"] = Commands["scheduled"];
        Commands["dump_revoked"] = Commands["revoked"];
        Commands["dump_tasks"] = Commands["registered"];
        Commands["dump_conf"] = Commands["conf"];
    }

    /// <summary>Every command name answered, aliases included.</summary>
    public static IReadOnlyCollection<string> Names => Commands.Keys;

    public static bool TryGet(string method, out Func<ControlContext, Task<JsonNode?>> command) => Commands.TryGetValue(method, out command!);

    public static JsonObject Ok(string value) => new() { ["ok"] = value };

    public static JsonObject Nok(string value) => new() { ["error"] = value };

    /// <summary>kombu's reply for a failed command: <c>{"error": repr(exc)}</c>, with the Python exception type nearest to ours.</summary>
    public static JsonObject Error(Exception exception)
    {
        var type = exception switch
        {
            KeyError => "KeyError",
            ControlArgumentException => "TypeError",
            ArgumentException => "ValueError",
            InvalidOperationException => "RuntimeError",
            _ => exception.GetType().Name,
        };
        return Nok($"{type}({PythonRepr.Of(JsonValue.Create(exception is ArgumentException a ? a.Message.Split(" (Parameter", 2)[0] : exception.Message))})");
    }

    private static Task<JsonNode?> Done(JsonNode? node) => Task.FromResult(node);

    // ---- inspection

    private static JsonObject Stats(Worker.Worker worker)
    {
        var options = worker.Options;
        var pool = new JsonObject
        {
            ["max-concurrency"] = worker.Concurrency,
            ["processes"] = new JsonArray([.. worker.PoolProcessIds().Select(p => (JsonNode?)p)]),
            ["max-tasks-per-child"] = options.MaxTasksPerChild is { } max ? max : "N/A",
            ["put-guarded-by-semaphore"] = false,
            ["timeouts"] = new JsonArray(Limit(options.SoftTimeLimit), Limit(options.TimeLimit)), // 0 for none, as Celery
            ["implementation"] = "fennel:" + worker.PoolName,
        };
        return new JsonObject
        {
            ["total"] = new JsonObject([.. worker.TaskTotals().Select(t => new KeyValuePair<string, JsonNode?>(t.Key, t.Value))]),
            ["pid"] = Environment.ProcessId,
            ["clock"] = worker.App.Clock.Value.ToString(CultureInfo.InvariantCulture),
            ["uptime"] = (long)Math.Round(worker.Uptime.TotalSeconds),
            ["pool"] = pool,
            ["broker"] = Broker(worker.App.Options.EffectiveBrokerUrl),
            ["prefetch_count"] = worker.Prefetch,
            ["rusage"] = Rusage(),
        };
    }

    private static JsonNode Limit(TimeSpan? limit) => limit is { } l ? PythonJson.Float(l.TotalSeconds) : JsonValue.Create(0);

    private static JsonObject Broker(string url)
    {
        Uri.TryCreate(url, UriKind.Absolute, out var uri);
        var user = uri?.UserInfo.Split(':', 2)[0];
        var path = uri?.AbsolutePath.TrimStart('/');
        return new JsonObject
        {
            ["hostname"] = string.IsNullOrEmpty(uri?.Host) ? null : uri.Host,
            ["userid"] = string.IsNullOrEmpty(user) ? null : Uri.UnescapeDataString(user),
            ["virtual_host"] = string.IsNullOrEmpty(path) ? "/" : Uri.UnescapeDataString(path),
            ["port"] = uri is { Port: > 0 } ? uri.Port : null,
            ["insist"] = false,
            ["ssl"] = uri?.Scheme is "amqps" or "rediss",
            ["transport"] = uri?.Scheme ?? url.Split(':', 2)[0],
            ["connect_timeout"] = 4,
            ["transport_options"] = new JsonObject(),
            ["login_method"] = uri?.Scheme is "amqp" or "amqps" ? "PLAIN" : null,
            ["uri_prefix"] = null,
            ["heartbeat"] = PythonJson.Float(120),
            ["failover_strategy"] = "round-robin",
            ["alternates"] = new JsonArray(),
        };
    }

    private static JsonObject Rusage()
    {
        using var process = Process.GetCurrentProcess();
        return new JsonObject
        {
            ["utime"] = PythonJson.Float(process.UserProcessorTime.TotalSeconds),
            ["stime"] = PythonJson.Float(process.PrivilegedProcessorTime.TotalSeconds),
            ["maxrss"] = process.PeakWorkingSet64 / 1024, // KiB, as Linux reports ru_maxrss
            ["ixrss"] = 0, ["idrss"] = 0, ["isrss"] = 0, ["minflt"] = 0, ["majflt"] = 0, ["nswap"] = 0, ["inblock"] = 0,
            ["oublock"] = 0, ["msgsnd"] = 0, ["msgrcv"] = 0, ["nsignals"] = 0, ["nvcsw"] = 0, ["nivcsw"] = 0,
        };
    }

    private static JsonArray Scheduled(Worker.Worker worker)
    {
        var now = worker.Now;
        return new JsonArray([.. worker.TrackedRequests().Where(r => r.StartedAt is null && r.IsScheduled(now)).Select(r => (JsonNode?)new JsonObject
        {
            ["eta"] = CeleryTime.Format(r.Job.Message.Eta!.Value),
            ["priority"] = r.Job.Message.Priority,
            ["request"] = r.Info(worker, false),
        })]);
    }

    /// <summary>
    /// Celery's <c>query_task</c>: <c>{id: [state, request]}</c> for each asked id the worker holds, with state
    /// <c>active</c> once a runner took it and <c>reserved</c> while it waits for a slot or its ETA (Celery counts ETA tasks
    /// as reserved too), and the request as <c>Request.info()</c>. Ids the worker does not hold are left out.
    /// </summary>
    private static JsonObject QueryTask(ControlContext c)
    {
        var ids = TaskIds(c, "query_task", "ids").ToHashSet(StringComparer.Ordinal);
        var found = new JsonObject();
        foreach (var request in c.Worker.TrackedRequests())
        {
            var id = request.Job.Message.Id;
            if (!ids.Contains(id) || found.ContainsKey(id)) continue;
            found[id] = new JsonArray(request.StartedAt is null ? "reserved" : "active", request.Info(c.Worker, false));
        }
        return found;
    }

    /// <summary>kombu's <c>Queue.as_dict(recurse=True)</c> for a queue on its own direct exchange, as Celery creates missing queues.</summary>
    internal static JsonObject QueueDict(string queue) => new()
    {
        ["name"] = queue,
        ["exchange"] = new JsonObject
        {
            ["name"] = queue, ["type"] = "direct", ["arguments"] = null, ["durable"] = true, ["passive"] = false,
            ["auto_delete"] = false, ["delivery_mode"] = null, ["no_declare"] = false,
        },
        ["routing_key"] = queue,
        ["queue_arguments"] = null, ["binding_arguments"] = null, ["consumer_arguments"] = null, ["durable"] = true,
        ["exclusive"] = false, ["auto_delete"] = false, ["no_ack"] = false, ["alias"] = null, ["bindings"] = new JsonArray(),
        ["no_declare"] = null, ["expires"] = null, ["message_ttl"] = null, ["max_length"] = null, ["max_length_bytes"] = null,
        ["max_priority"] = null,
    };

    private static readonly string[] DefaultTaskInfoItems = ["exchange", "routing_key", "rate_limit"];

    private static Task<JsonNode?> Registered(ControlContext c)
    {
        var items = c.Arguments["taskinfoitems"] switch
        {
            JsonArray { Count: > 0 } a => [.. a.Select(n => n?.ToString() ?? "")],
            JsonValue v when v.TryGetValue(out string? one) && one.Length > 0 => [one],
            _ => DefaultTaskInfoItems,
        };
        var builtins = Bool(c, "builtins") ?? false;
        var names = c.Worker.App.Tasks.All.Where(t => builtins || !t.Name.StartsWith("celery.", StringComparison.Ordinal))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .Select(t =>
            {
                var fields = items.Select(i => (Item: i, Value: TaskInfo(c.Worker, t, i))).Where(f => f.Value is not null).ToList();
                return (JsonNode?)JsonValue.Create(fields.Count == 0 ? t.Name : $"{t.Name} [{string.Join(' ', fields.Select(f => $"{f.Item}={f.Value}"))}]");
            });
        return Done(new JsonArray([.. names]));
    }

    /// <summary>A task attribute as Celery prints it (<c>str()</c>); null when the task has none.</summary>
    private static string? TaskInfo(Worker.Worker worker, TaskDefinition task, string item)
    {
        var limits = worker.TimeLimitsOf(task);
        return item switch
        {
            "rate_limit" => worker.GetRateLimit(task.Name)?.Text,
            "queue" => task.Options.Queue,
            "soft_time_limit" => limits.Soft is { } s ? PythonJson.Serialize(PythonJson.Float(s.TotalSeconds)) : null,
            "time_limit" => limits.Hard is { } h ? PythonJson.Serialize(PythonJson.Float(h.TotalSeconds)) : null,
            "max_retries" => task.Options.MaxRetries.ToString(CultureInfo.InvariantCulture),
            "ignore_result" => task.Options.IgnoreResult ? "True" : "False",
            _ => null,
        };
    }

    private static JsonObject Conf(Worker.Worker worker)
    {
        var options = worker.App.Options;
        return new JsonObject
        {
            ["broker_url"] = BrokerUrls.Redact(options.EffectiveBrokerUrl),
            ["result_backend"] = BrokerUrls.Redact(options.EffectiveResultBackend),
            ["task_serializer"] = "json",
            ["result_serializer"] = "json",
            ["accept_content"] = new JsonArray("json"),
            ["task_protocol"] = 2,
            ["enable_utc"] = true,
            ["timezone"] = "UTC",
            ["task_default_queue"] = options.DefaultQueue,
            ["worker_concurrency"] = worker.Concurrency,
            ["worker_prefetch_multiplier"] = worker.Options.PrefetchMultiplier,
        };
    }

    // ---- control

    private static Task<JsonNode?> Revoke(ControlContext c)
    {
        var ids = TaskIds(c, "revoke", "task_id");
        var terminate = Bool(c, "terminate") ?? false;
        var terminated = c.Worker.RevokeFromControl(ids, terminate);
        Log.RemoteRevoke(c.Logger, c.Worker.Name, string.Join(", ", ids), terminate ? $"; terminating {terminated.Count} running" : "");
        if (terminate)
        {
            return Done(Ok(terminated.Count == 0 ? "terminate: tasks unknown" : "terminate: " + string.Join(", ", terminated)));
        }
        return Done(Ok($"tasks {string.Join(", ", ids)} flagged as revoked"));
    }

    private static Task<JsonNode?> RateLimitCommand(ControlContext c)
    {
        var task = RequiredText(c, "rate_limit", "task_name");
        var rate = c.Arguments.ContainsKey("rate_limit")
            ? Text(c.Arguments["rate_limit"])
            : throw new ControlArgumentException("rate_limit() missing 1 required positional argument: 'rate_limit'");
        if (!RateLimit.TryParse(rate, out var parsed, out var error)) return Done(Nok($"Invalid rate limit string: ValueError({PythonRepr.Of(JsonValue.Create(error))})"));
        if (!c.Worker.App.Tasks.TryGet(task, out _))
        {
            Log.ControlBadRequest(c.Logger, c.Worker.Name, "rate_limit", c.Requester, $"no task named '{task}' is registered here");
            return Done(Nok("unknown task"));
        }
        c.Worker.SetRateLimit(task, rate);
        Log.RemoteRateLimit(c.Logger, c.Worker.Name, task, parsed?.Text ?? "none", c.Requester);
        return Done(Ok(parsed is null ? "rate limit disabled successfully" : "new rate limit set successfully"));
    }

    private static Task<JsonNode?> TimeLimit(ControlContext c)
    {
        var task = Text(c.Arguments["task_name"]);
        if (task is null || !c.Worker.App.Tasks.TryGet(task, out _))
        {
            Log.ControlBadRequest(c.Logger, c.Worker.Name, "time_limit", c.Requester, $"no task named '{task}' is registered here");
            return Done(Nok("unknown task"));
        }
        var soft = Seconds(c, "soft");
        var hard = Seconds(c, "hard");
        c.Worker.SetTimeLimits(task, soft, hard);
        Log.RemoteTimeLimit(c.Logger, c.Worker.Name, task, soft?.TotalSeconds.ToString(CultureInfo.InvariantCulture) ?? "None",
            hard?.TotalSeconds.ToString(CultureInfo.InvariantCulture) ?? "None", c.Requester);
        return Done(Ok("time limits set successfully"));
    }

    private static async Task<JsonNode?> PoolGrow(ControlContext c)
    {
        var concurrency = await c.Worker.GrowPoolAsync(Int(c, "n") ?? 1).ConfigureAwait(false);
        Log.RemotePoolResize(c.Logger, c.Worker.Name, "grown", concurrency, c.Requester);
        return Ok("pool will grow");
    }

    private static async Task<JsonNode?> PoolShrink(ControlContext c)
    {
        var concurrency = await c.Worker.ShrinkPoolAsync(Int(c, "n") ?? 1).ConfigureAwait(false);
        Log.RemotePoolResize(c.Logger, c.Worker.Name, "shrunk", concurrency, c.Requester);
        return Ok("pool will shrink");
    }

    private static Task<JsonNode?> PoolRestart(ControlContext c)
    {
        Log.RemotePoolRestart(c.Logger, c.Worker.Name, c.Requester);
        c.Worker.RestartPoolInBackground();
        return Done(Ok("reload started"));
    }

    private static async Task<JsonNode?> AddConsumer(ControlContext c)
    {
        var queue = RequiredText(c, "add_consumer", "queue");
        if (await c.Worker.AddQueueAsync(queue).ConfigureAwait(false)) Log.RemoteQueueAdded(c.Logger, c.Worker.Name, queue, c.Requester);
        return Ok($"add consumer {queue}");
    }

    private static async Task<JsonNode?> CancelConsumer(ControlContext c)
    {
        var queue = RequiredText(c, "cancel_consumer", "queue");
        if (await c.Worker.CancelQueueAsync(queue).ConfigureAwait(false)) Log.RemoteQueueCancelled(c.Logger, c.Worker.Name, queue, c.Requester);
        return Ok($"no longer consuming from {queue}");
    }

    private static Task<JsonNode?> Shutdown(ControlContext c)
    {
        Log.RemoteShutdown(c.Logger, c.Worker.Name, c.Requester);
        c.Worker.RequestShutdown();
        return Done(null); // never replied to
    }

    private static JsonObject TaskEvents(ControlContext c, bool enable)
    {
        if (c.Worker.TaskEventsEnabled == enable) return Ok(enable ? "task events already enabled" : "task events already disabled");
        c.Worker.SetTaskEvents(enable);
        Log.RemoteTaskEvents(c.Logger, c.Worker.Name, enable ? "enabled" : "disabled", c.Requester);
        return Ok(enable ? "task events enabled" : "task events disabled");
    }

    private static async Task<JsonNode?> Heartbeat(ControlContext c)
    {
        await c.Worker.SendHeartbeatAsync().ConfigureAwait(false);
        return null; // Celery's heartbeat returns None
    }

    private static JsonObject? Hello(ControlContext c)
    {
        var from = RequiredText(c, "hello", "from_node");
        if (from == c.Worker.Name) return null; // Celery answers None to itself
        var merged = c.Arguments["revoked"] is JsonObject revoked ? c.Worker.MergeRevokes(revoked) : 0;
        Log.RemoteHello(c.Logger, c.Worker.Name, from, merged);
        return new JsonObject
        {
            ["revoked"] = c.Worker.RevokedAsCelerySends(),
            ["clock"] = c.Worker.App.Clock.Forward(),
        };
    }

    // ---- arguments

    private static JsonObject With(JsonObject arguments, string name, JsonNode? value)
    {
        var copy = (JsonObject)arguments.DeepClone();
        copy[name] = value;
        return copy;
    }

    /// <summary>One task id or a list of them (Celery's <c>maybe_list</c>), without repeats.</summary>
    private static List<string> TaskIds(ControlContext c, string method, string name) => c.Arguments[name] switch
    {
        JsonArray a => a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : null).OfType<string>().Distinct(StringComparer.Ordinal).ToList(),
        JsonValue v when v.TryGetValue(out string? one) => [one],
        null => throw new ControlArgumentException($"{method}() missing 1 required positional argument: '{name}'"),
        _ => throw new ControlArgumentException($"{method}(): {name} must be a task id or a list of them"),
    };

    private static string? Text(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonValue v => v.ToJsonString(),
        _ => throw new ControlArgumentException($"expected a string, not {node.ToJsonString()}"),
    };

    private static string RequiredText(ControlContext c, string method, string name) =>
        Text(c.Arguments[name]) is { Length: > 0 } text ? text : throw new ControlArgumentException($"{method}() missing 1 required positional argument: '{name}'");

    private static bool? Bool(ControlContext c, string name) => c.Arguments[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out bool b) => b,
        JsonValue v when v.TryGetValue(out string? s) => s is "1" or "true" or "True" or "yes",
        JsonValue v when v.TryGetValue(out int i) => i != 0,
        _ => throw new ControlArgumentException($"'{name}' must be true or false"),
    };

    private static int? Int(ControlContext c, string name)
    {
        int? n = c.Arguments[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out int i) => i,
            JsonValue v when v.TryGetValue(out double d) && d == Math.Floor(d) => (int)d,
            JsonValue v when v.TryGetValue(out string? s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => throw new ControlArgumentException($"'{name}' must be a whole number"),
        };
        return n is < 1 ? throw new ControlArgumentException($"'{name}' must be at least 1, not {n}") : n;
    }

    private static TimeSpan? Seconds(ControlContext c, string name) => c.Arguments[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out double d) => d > 0 ? TimeSpan.FromSeconds(d) : null,
        JsonValue v when v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) =>
            parsed > 0 ? TimeSpan.FromSeconds(parsed) : null,
        _ => throw new ControlArgumentException($"'{name}' must be a number of seconds"),
    };
}
