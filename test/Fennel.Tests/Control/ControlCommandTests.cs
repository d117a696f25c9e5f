using System.Diagnostics;
using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Python;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.Tests.Control;

/// <summary>Remote control end to end on the in-memory broker: ControlClient → celery.pidbox → real workers → replies.</summary>
public class ControlCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static async Task<Fennel.Worker.Worker> StartWorkerAsync(FennelApp app, string name, Action<Fennel.Worker.WorkerOptions>? configure = null)
    {
        var worker = app.CreateWorker(o =>
        {
            o.NodeName = name;
            o.Concurrency = 2;
            configure?.Invoke(o);
        });
        await worker.StartAsync();
        return worker;
    }

    /// <summary>One reply expected (from the one worker, or the one named): the wait ends with it, or after 5 s on a loaded machine.</summary>
    private static ControlRequestOptions Quick(params string[] destination) =>
        new() { Timeout = TimeSpan.FromSeconds(5), Destination = destination.Length == 0 ? null : destination, Limit = destination.Length == 0 ? 1 : null };

    private static string? Ok(ControlReply reply) => reply.Payload?["ok"]?.GetValue<string>();

    [Fact]
    public async Task Ping_gets_pong_from_every_worker()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");
        await using var b = await StartWorkerAsync(app, "b@test");

        var replies = await app.Client.Control.RequestAsync("ping", options: new ControlRequestOptions { Timeout = TimeSpan.FromSeconds(5), Limit = 3 });

        Assert.Equal(["a@test", "b@test"], replies.Select(r => r.Node).Order(StringComparer.Ordinal));
        Assert.All(replies, r => Assert.Equal("pong", Ok(r)));
    }

    [Fact]
    public async Task A_destination_limits_who_answers_and_ends_the_wait_when_all_named_nodes_replied()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");
        await using var b = await StartWorkerAsync(app, "b@test");
        var watch = Stopwatch.StartNew();

        var replies = await app.Client.Control.RequestAsync("ping", options: new ControlRequestOptions { Destination = ["b@test"], Timeout = TimeSpan.FromSeconds(10) });

        Assert.Equal("b@test", Assert.Single(replies).Node);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"waited {watch.Elapsed} for one named node");
    }

    [Fact]
    public async Task A_limit_stops_collecting_early_and_a_pattern_selects_nodes()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");
        await using var b = await StartWorkerAsync(app, "b@test");

        var watch = Stopwatch.StartNew();
        var limited = await app.Client.Control.RequestAsync("ping", options: new ControlRequestOptions { Limit = 1, Timeout = TimeSpan.FromSeconds(10) });
        Assert.Single(limited);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));

        var broadcast = (IBroadcastTransport)app.Transport;
        var replies = await CollectRawAsync(broadcast, new PidboxRequest("ping", []) { Pattern = "b@*", Matcher = "glob" }, "a@test", "b@test");
        Assert.Equal("b@test", Assert.Single(replies).Node);
    }

    [Fact]
    public async Task Without_workers_the_request_returns_no_replies_after_the_timeout()
    {
        await using var app = TestApps.Create();
        var watch = Stopwatch.StartNew();

        var replies = await app.Client.Control.RequestAsync("ping", options: new ControlRequestOptions { Timeout = TimeSpan.FromMilliseconds(300) });

        Assert.Empty(replies);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_expired_request_is_ignored_and_a_live_one_answered()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");
        var broadcast = (IBroadcastTransport)app.Transport;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

        Assert.Empty(await CollectRawAsync(broadcast, new PidboxRequest("ping", []) { Expires = now - 5 }, "a@test"));
        Assert.Single(await CollectRawAsync(broadcast, new PidboxRequest("ping", []) { Expires = now + 30 }, "a@test"));
    }

    [Fact]
    public async Task An_unknown_command_gets_kombus_error_reply()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");

        var reply = Assert.Single(await app.Client.Control.RequestAsync("no_such_command", options: Quick()));

        Assert.Equal("KeyError('no_such_command')", reply.Payload?["error"]?.GetValue<string>());
        Assert.Equal("pong", Ok(Assert.Single(await app.Client.Control.RequestAsync("ping", options: Quick())))); // still serving
    }

    [Fact]
    public async Task Shutdown_gets_no_reply_and_stops_the_worker_warm()
    {
        await using var app = TestApps.Create();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = app.Task<int, int>("tasks.slow", async (int n) =>
        {
            started.TrySetResult();
            await release.Task;
            return n;
        });
        await using var a = await StartWorkerAsync(app, "a@test");
        var running = await slow.DelayAsync(7);
        await started.Task.WaitAsync(Wait);

        var replies = await app.Client.Control.RequestAsync("shutdown", options: Quick());

        Assert.Empty(replies);
        await Eventually.HoldsAsync(() => a.State is Fennel.Worker.WorkerState.Stopping or Fennel.Worker.WorkerState.Stopped, "the worker to stop", Wait);
        release.SetResult();
        await a.Completion.WaitAsync(Wait);
        Assert.False(a.StoppedCold);
        Assert.Equal(7, await running.GetAsync(Wait)); // the running task finished: warm
    }

    [Fact]
    public async Task Pool_grow_then_stats_shows_the_new_concurrency_and_tasks_counted()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var a = await StartWorkerAsync(app, "a@test");
        Assert.Equal(5, await (await add.DelayAsync(2, 3)).GetAsync(Wait));

        var grow = Assert.Single(await app.Client.Control.RequestAsync("pool_grow", new JsonObject { ["n"] = 3 }, Quick()));
        Assert.Equal("pool will grow", Ok(grow));
        var stats = Assert.Single(await app.Client.Control.RequestAsync("stats", options: Quick())).Payload!.AsObject();

        Assert.Equal(5, stats["pool"]!["max-concurrency"]!.GetValue<int>());
        Assert.Equal(5 * 4, stats["prefetch_count"]!.GetValue<int>());
        Assert.Equal(1, stats["total"]!["tasks.add"]!.GetValue<long>());
        Assert.Equal(Environment.ProcessId, stats["pid"]!.GetValue<int>());
        Assert.True(long.Parse(stats["clock"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) > 0); // a string, as Celery's
        Assert.Equal("memory", stats["broker"]!["transport"]!.GetValue<string>());
        Assert.NotNull(stats["rusage"]!["utime"]);

        Assert.Equal("pool will shrink", Ok(Assert.Single(await app.Client.Control.RequestAsync("pool_shrink", new JsonObject { ["n"] = 4 }, Quick()))));
        Assert.Equal(1, a.Concurrency);
    }

    [Fact]
    public async Task Add_consumer_makes_a_task_on_the_new_queue_run_and_cancel_consumer_stops_it()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var a = await StartWorkerAsync(app, "a@test");

        var reply = Assert.Single(await app.Client.Control.RequestAsync("add_consumer",
            new JsonObject { ["queue"] = "extra", ["exchange"] = "extra", ["routing_key"] = "extra" }, Quick()));
        Assert.Equal("add consumer extra", Ok(reply));
        Assert.Contains("extra", a.Queues);
        var result = await add.DelayAsync(1, 2, new CallOptions { Queue = "extra" });
        Assert.Equal(3, await result.GetAsync(Wait));

        var queues = Assert.Single(await app.Client.Control.RequestAsync("active_queues", options: Quick())).Payload!.AsArray();
        Assert.Equal(["celery", "extra"], queues.Select(q => q!["name"]!.GetValue<string>()));
        Assert.Equal("direct", queues[1]!["exchange"]!["type"]!.GetValue<string>());

        Assert.Equal("no longer consuming from extra", Ok(Assert.Single(await app.Client.Control.RequestAsync("cancel_consumer", new JsonObject { ["queue"] = "extra" }, Quick()))));
        Assert.DoesNotContain("extra", a.Queues);
        // A fetch already waiting on the old list of queues ends with the next message: once a marker on celery has run,
        // every later fetch asks for celery alone.
        Assert.Equal(2, await (await add.DelayAsync(1, 1)).GetAsync(Wait));
        await add.DelayAsync(1, 1, new CallOptions { Queue = "extra" });
        // A second marker, sent after it: a worker still consuming extra would have fetched the message on extra first.
        Assert.Equal(4, await (await add.DelayAsync(2, 2)).GetAsync(Wait));
        Assert.Equal(1, await app.Transport.GetQueueLengthAsync("extra"));
    }

    [Fact]
    public async Task Rate_limit_is_applied_and_an_unknown_task_refused()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.echo", (int x) => x);
        await using var a = await StartWorkerAsync(app, "a@test");

        var set = Assert.Single(await app.Client.Control.RequestAsync("rate_limit", new JsonObject { ["task_name"] = "tasks.echo", ["rate_limit"] = "10/m" }, Quick()));
        Assert.Equal("new rate limit set successfully", Ok(set));
        Assert.Equal("10/m", a.GetRateLimit("tasks.echo")?.Text);

        var unknown = Assert.Single(await app.Client.Control.RequestAsync("rate_limit", new JsonObject { ["task_name"] = "tasks.nope", ["rate_limit"] = "1/s" }, Quick()));
        Assert.Equal("unknown task", unknown.Payload?["error"]?.GetValue<string>());

        var off = Assert.Single(await app.Client.Control.RequestAsync("rate_limit", new JsonObject { ["task_name"] = "tasks.echo", ["rate_limit"] = null }, Quick()));
        Assert.Equal("rate limit disabled successfully", Ok(off));
        Assert.Null(a.GetRateLimit("tasks.echo"));
    }

    [Fact]
    public async Task Time_limit_applies_to_tasks_started_afterwards()
    {
        await using var app = TestApps.Create();
        var sleep = app.Task<int, int>("tasks.sleep", async (int ms, CancellationToken ct) =>
        {
            await Task.Delay(ms, ct);
            return ms;
        });
        await using var a = await StartWorkerAsync(app, "a@test");

        var reply = Assert.Single(await app.Client.Control.RequestAsync("time_limit", new JsonObject { ["task_name"] = "tasks.sleep", ["hard"] = 0.3 }, Quick()));
        Assert.Equal("time limits set successfully", Ok(reply));

        var result = await (await sleep.DelayAsync(30_000)).WaitAsync(Wait);
        Assert.Equal(TaskState.Failure, result.State);
        Assert.Equal("TimeLimitExceeded", result.Result?["exc_type"]?.GetValue<string>());
    }

    [Fact]
    public async Task Active_shows_a_running_task_and_revoke_with_terminate_stops_it()
    {
        await using var app = TestApps.Create();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sleep = app.Task<int, int>("tasks.sleep", async (int ms, CancellationToken ct) =>
        {
            started.TrySetResult();
            await Task.Delay(ms, ct);
            return ms;
        });
        await using var a = await StartWorkerAsync(app, "a@test");
        var running = await sleep.DelayAsync(600_000);
        await started.Task.WaitAsync(Wait);

        var active = Assert.Single(await app.Client.Control.RequestAsync("active", new JsonObject { ["safe"] = null }, Quick())).Payload!.AsArray();
        var request = Assert.Single(active)!;
        Assert.Equal(running.Id, request["id"]!.GetValue<string>());
        Assert.Equal("tasks.sleep", request["name"]!.GetValue<string>());
        Assert.Equal(600_000, request["args"]![0]!.GetValue<int>());
        Assert.Equal("a@test", request["hostname"]!.GetValue<string>());
        Assert.NotNull(request["time_start"]);
        Assert.Equal("celery", request["delivery_info"]!["routing_key"]!.GetValue<string>());
        Assert.Empty(Assert.Single(await app.Client.Control.RequestAsync("reserved", options: Quick())).Payload!.AsArray());

        var revoke = Assert.Single(await app.Client.Control.RequestAsync("revoke", new JsonObject { ["task_id"] = running.Id, ["terminate"] = true, ["signal"] = "SIGTERM" }, Quick()));
        Assert.Equal("terminate: " + running.Id, Ok(revoke));
        Assert.Equal(TaskState.Revoked, (await running.WaitAsync(Wait)).State);
        var revoked = Assert.Single(await app.Client.Control.RequestAsync("revoked", options: Quick())).Payload!.AsArray();
        Assert.Contains(running.Id, revoked.Select(r => r!.GetValue<string>()));

        var flagged = Assert.Single(await app.Client.Control.RequestAsync("revoke", new JsonObject { ["task_id"] = new JsonArray("x") }, Quick()));
        Assert.Equal("tasks x flagged as revoked", Ok(flagged));
    }

    [Fact]
    public async Task Query_task_answers_as_celery_with_the_state_and_request_of_each_task_it_holds()
    {
        await using var app = TestApps.Create();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hold = app.Task<int, int>("tasks.hold", async (int n) =>
        {
            started.TrySetResult();
            await release.Task;
            return n;
        });
        await using var a = await StartWorkerAsync(app, "a@test", o => o.Concurrency = 1);
        var running = await hold.DelayAsync(1);
        var waiting = await hold.DelayAsync(2);
        await started.Task.WaitAsync(Wait);
        await Eventually.HoldsAsync(async () => Assert.Single(await app.Client.Control.RequestAsync("reserved", options: Quick())).Payload!.AsArray().Count == 1,
            "the second task reserved");

        var both = Assert.Single(await app.Client.Control.RequestAsync("query_task",
            new JsonObject { ["ids"] = new JsonArray(running.Id, waiting.Id, "not-held") }, Quick())).Payload!.AsObject();
        var one = Assert.Single(await app.Client.Control.RequestAsync("query_task", new JsonObject { ["ids"] = waiting.Id }, Quick())).Payload!.AsObject();
        var none = Assert.Single(await app.Client.Control.RequestAsync("query_task", [], Quick()));
        release.SetResult();
        await waiting.GetAsync(Wait);

        // Celery 5.2: {task id: [state, Request.info()]}, ids it does not hold left out.
        Assert.Equal(new[] { running.Id, waiting.Id }.Order(StringComparer.Ordinal), both.Select(t => t.Key).Order(StringComparer.Ordinal));
        Assert.Equal("active", both[running.Id]![0]!.GetValue<string>());
        Assert.Equal(running.Id, both[running.Id]![1]!["id"]!.GetValue<string>());
        Assert.Equal("tasks.hold", both[running.Id]![1]!["name"]!.GetValue<string>());
        Assert.NotNull(both[running.Id]![1]!["time_start"]);
        Assert.Equal("reserved", both[waiting.Id]![0]!.GetValue<string>());
        Assert.Equal(2, both[waiting.Id]![1]!["args"]![0]!.GetValue<int>());
        Assert.Null(both[waiting.Id]![1]!["time_start"]);
        Assert.Equal([waiting.Id], one.Select(t => t.Key)); // one id as a string, as kombu's maybe_list takes it
        Assert.Contains("query_task() missing 1 required positional argument: 'ids'", none.Payload?["error"]?.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registered_lists_task_names_with_their_rate_limits()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.b", (int x) => x, new TaskOptions { RateLimit = "5/s" });
        app.Task<int, int>("tasks.a", (int x) => x);
        await using var a = await StartWorkerAsync(app, "a@test");

        var names = Assert.Single(await app.Client.Control.RequestAsync("registered", new JsonObject { ["taskinfoitems"] = new JsonArray() }, Quick())).Payload!.AsArray();

        Assert.Equal(["tasks.a", "tasks.b [rate_limit=5/s]"], names.Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task Events_switch_on_and_off_and_heartbeat_answers_none()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");

        Assert.Equal("task events enabled", Ok(Assert.Single(await app.Client.Control.RequestAsync("enable_events", options: Quick()))));
        Assert.True(a.TaskEventsEnabled);
        Assert.Equal("task events already enabled", Ok(Assert.Single(await app.Client.Control.RequestAsync("enable_events", options: Quick()))));
        Assert.Equal("task events disabled", Ok(Assert.Single(await app.Client.Control.RequestAsync("disable_events", options: Quick()))));
        Assert.False(a.TaskEventsEnabled);
        Assert.Null(Assert.Single(await app.Client.Control.RequestAsync("heartbeat", options: Quick())).Payload);
    }

    [Fact]
    public async Task Pool_restart_answers_at_once_and_ping_keeps_answering()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test", o => o.Pool = Fennel.Worker.WorkerPoolKind.Threads);

        Assert.Equal("reload started", Ok(Assert.Single(await app.Client.Control.RequestAsync("pool_restart", options: Quick()))));
        Assert.Equal("pong", Ok(Assert.Single(await app.Client.Control.RequestAsync("ping", options: Quick()))));
    }

    [Fact]
    public async Task Mingle_merges_the_revokes_of_running_workers_at_start()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");
        // Only a has it: sent to a alone (not kept in the broker, as RevokeAsync would).
        Assert.Single(await app.Client.Control.RequestAsync("revoke", new JsonObject { ["task_id"] = "t-1" }, Quick("a@test")));

        await using var without = await StartWorkerAsync(app, "c@test");
        await using var b = await StartWorkerAsync(app, "b@test", o => o.Mingle = true);

        Assert.Contains("t-1", b.RevokedSnapshot().Select(r => r.Id));
        Assert.DoesNotContain("t-1", without.RevokedSnapshot().Select(r => r.Id));
        var expiry = b.RevokedSnapshot().Single(r => r.Id == "t-1").ExpiresAt;
        Assert.InRange(expiry - DateTimeOffset.UtcNow, TimeSpan.FromHours(2.9), TimeSpan.FromHours(3.1));
    }

    [Fact]
    public async Task Hello_answers_revokes_as_celery_sends_them_and_nothing_to_itself()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");
        Assert.Single(await app.Client.Control.RequestAsync("revoke", new JsonObject { ["task_id"] = "t-2" }, Quick()));

        var other = Assert.Single(await app.Client.Control.RequestAsync("hello",
            new JsonObject { ["from_node"] = "celery@python", ["revoked"] = new JsonObject { ["t-3"] = PythonJson.Float(DateTimeOffset.UtcNow.ToUnixTimeSeconds()) } }, Quick()));
        var self = Assert.Single(await app.Client.Control.RequestAsync("hello", new JsonObject { ["from_node"] = "a@test", ["revoked"] = new JsonObject() }, Quick()));

        var revoked = other.Payload!["revoked"]!.AsObject();
        Assert.Contains("t-2", revoked.Select(r => r.Key));
        Assert.Contains(".", PythonJson.Serialize(revoked["t-2"]), StringComparison.Ordinal); // a float for Python's LimitedSet
        Assert.True(other.Payload["clock"]!.GetValue<long>() > 0);
        Assert.Contains("t-3", a.RevokedSnapshot().Select(r => r.Id));
        Assert.Null(self.Payload);
    }

    [Fact]
    public async Task A_broker_without_broadcast_is_a_configuration_error()
    {
        var client = new ControlClient(() => new NoBroadcastTransport(), new Fennel.Events.LamportClock(), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        var error = await Assert.ThrowsAsync<FennelConfigurationException>(() => client.RequestAsync("ping"));

        Assert.Contains("cannot broadcast", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Sends a raw request with a reply address, then a ping to each of <paramref name="nodes"/>, and returns the replies
    /// to the request once every node has answered the ping: a worker takes its requests in order, so by then each node
    /// has answered the request or passed it over (no window to guess).
    /// </summary>
    private static async Task<List<PidboxReply>> CollectRawAsync(IBroadcastTransport broadcast, PidboxRequest request, params string[] nodes)
    {
        var oid = Guid.NewGuid().ToString();
        var replies = new List<PidboxReply>();
        await using (await broadcast.SubscribeAsync("reply.celery.pidbox", oid, m =>
        {
            lock (replies) replies.AddRange(PidboxReply.Decode(m.Body.Span));
            return Task.CompletedTask;
        }))
        {
            var ticket = Guid.NewGuid().ToString();
            var barrier = Guid.NewGuid().ToString();
            var replyTo = new PidboxAddress("reply.celery.pidbox", oid);
            await broadcast.BroadcastAsync("celery.pidbox", "", (request with { Ticket = ticket, ReplyTo = replyTo, Clock = 1 }).Encode());
            await broadcast.BroadcastAsync("celery.pidbox", "", new PidboxRequest("ping", []) { Destination = nodes, Ticket = barrier, ReplyTo = replyTo, Clock = 2 }.Encode());
            await Eventually.HoldsAsync(() =>
            {
                lock (replies) return nodes.All(n => replies.Any(r => r.Ticket == barrier && r.Node == n));
            }, $"{string.Join(" and ", nodes)} to answer the ping sent after the request");
            lock (replies) return [.. replies.Where(r => r.Ticket == ticket)];
        }
    }

    private sealed class NoBroadcastTransport : ITransport
    {
        public TransportCapabilities Capabilities => TransportCapabilities.None;
        public Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<Delivery>>([]);
        public Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default) => Task.FromResult(0L);
        public Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default) => Task.FromResult(0L);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
