using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Events;
using Fennel.Tests.Events;
using Fennel.Monitoring;
using Fennel.Tasks;
using Fennel.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.Tests.Worker;

public class WorkerEventsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static FennelApp CreateApp(ListLoggerProvider? logs = null, bool taskEvents = true, bool sentEvents = false) =>
        TestApps.Create(b =>
        {
            if (logs is not null)
            {
                b.Services.AddSingleton<ILoggerProvider>(logs);
                b.Logging.AddFilter<ListLoggerProvider>(null, LogLevel.Trace);
            }
        }, o =>
        {
            o.Worker.TaskEvents = taskEvents;
            o.TaskSentEvents = sentEvents;
        });

    [Fact]
    public async Task Worker_online_heartbeats_and_offline_are_sent_with_Celerys_fields()
    {
        await using var app = CreateApp(taskEvents: false);
        app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var events = await EventRecorder.StartAsync(app, "worker.#");
        var worker = app.CreateWorker();
        Assert.Equal(TimeSpan.FromSeconds(2), worker.HeartbeatInterval); // Celery's freq
        worker.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
        await worker.StartAsync();

        var online = await events.WaitForAsync<WorkerOnlineEvent>();
        await Eventually.HoldsAsync(() => events.Events.OfType<WorkerHeartbeatEvent>().Count() >= 3, "three heartbeats", Wait);
        await app.Client.SendTaskAsync("tasks.add", [1, 2]);
        await events.WaitForAsync<WorkerHeartbeatEvent>(h => h.Processed == 1, "a heartbeat counting the task");
        await worker.StopAsync();
        var offline = await events.WaitForAsync<WorkerOfflineEvent>();

        foreach (var e in new WorkerEvent[] { online, offline })
        {
            Assert.Equal(worker.Name, e.Hostname);
            Assert.Equal(0.1, e.Freq);
            Assert.Equal("fennel", e.SoftwareIdentity);
            Assert.Equal(OperatingSystem.IsLinux() ? "Linux" : e.SoftwareSystem, e.SoftwareSystem);
            Assert.False(string.IsNullOrEmpty(e.SoftwareVersion));
            Assert.Equal(3, e.LoadAverage!.Count);
            Assert.All(e.LoadAverage, l => Assert.Equal(Math.Round(l, 2), l));
            Assert.Equal(Environment.ProcessId, e.Pid);
        }
        Assert.Equal(0, online.Processed);
        Assert.Equal(1, offline.Processed);
        Assert.Equal(0, offline.Active);
        var workerEvents = events.Events.OfType<WorkerEvent>().ToList();
        Assert.IsType<WorkerOnlineEvent>(workerEvents[0]);
        Assert.IsType<WorkerOfflineEvent>(workerEvents[^1]);
        // The clock moves on with each event sent.
        Assert.Equal(workerEvents.Select(e => e.Clock), workerEvents.Select(e => e.Clock).Order());
        Assert.Equal(workerEvents.Count, workerEvents.Select(e => e.Clock).Distinct().Count());
        // No task events: -E was not given.
        Assert.DoesNotContain(events.Messages, m => m.RoutingKey.StartsWith("task", StringComparison.Ordinal));
        Assert.Equal(0, worker.EventDispatcher is null ? 0 : worker.EventDispatcher.Dropped);
    }

    [Fact]
    public async Task Worker_offline_is_sent_on_cold_shutdown_too()
    {
        await using var app = CreateApp(taskEvents: false);
        app.Task("tasks.sleep", async (CancellationToken ct) => await Task.Delay(Timeout.Infinite, ct));
        await using var events = await EventRecorder.StartAsync(app);
        var worker = app.CreateWorker();
        await worker.StartAsync();
        await app.Client.SendTaskAsync("tasks.sleep");
        await Eventually.HoldsAsync(() => worker.Running == 1, "the task running", Wait);
        await worker.SendHeartbeatAsync(); // what the heartbeat control command does
        await events.WaitForAsync<WorkerHeartbeatEvent>(h => h.Active == 1, "a heartbeat with the running task");
        await worker.StopColdAsync();
        await events.WaitForAsync<WorkerOfflineEvent>();
    }

    [Fact]
    public async Task Task_events_are_off_by_default_and_SetTaskEvents_switches_them()
    {
        var logs = new ListLoggerProvider();
        await using var app = TestApps.Create(b =>
        {
            b.Services.AddSingleton<ILoggerProvider>(logs);
            b.Logging.AddFilter<ListLoggerProvider>(null, LogLevel.Trace);
        });
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var events = await EventRecorder.StartAsync(app);
        await using var worker = app.CreateWorker();
        Assert.False(worker.TaskEventsEnabled);
        await worker.StartAsync();
        var quiet = await add.DelayAsync(1, 1);
        await quiet.GetAsync(Wait);

        worker.SetTaskEvents(true);
        Assert.True(worker.TaskEventsEnabled);
        var loud = await add.DelayAsync(2, 2);
        await loud.GetAsync(Wait);
        await events.WaitForAsync<TaskSucceededEvent>(e => e.TaskId == loud.Id);

        worker.SetTaskEvents(false);
        var quietAgain = await add.DelayAsync(3, 3);
        await quietAgain.GetAsync(Wait);
        await worker.SendHeartbeatAsync(); // sent after whatever the last task made: once it arrives, nothing else is coming
        await events.WaitForAsync<WorkerHeartbeatEvent>();

        Assert.Empty(events.For(quiet.Id));
        Assert.Empty(events.For(quietAgain.Id));
        Assert.Equal(["task-received", "task-started", "task-succeeded"], events.For(loud.Id).Select(e => e.Type));
        Assert.Contains(logs.Lines, l => l.Id == 2400 && l.Text.EndsWith("task events switched on", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Id == 2400 && l.Text.EndsWith("task events switched off", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tasks_received_started_and_succeeded_arrive_promptly_with_Celerys_fields()
    {
        await using var app = CreateApp();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var events = await EventRecorder.StartAsync(app);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        await events.WaitForAsync<WorkerOnlineEvent>();

        var started = DateTime.UtcNow;
        var result = await app.Client.SendTaskAsync("tasks.add", [2, 3], null, new CallOptions { ExpiresIn = TimeSpan.FromHours(1) });
        var succeeded = await events.WaitForAsync<TaskSucceededEvent>(e => e.TaskId == result.Id);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1), "events are sent within milliseconds, not on a timer");

        var received = Assert.IsType<TaskReceivedEvent>(events.For(result.Id)[0]);
        Assert.Equal("tasks.add", received.Name);
        Assert.Equal("(2, 3)", received.Args);
        Assert.Equal("{}", received.Kwargs);
        Assert.Equal(result.Id, received.RootId);
        Assert.Null(received.ParentId);
        Assert.Equal(0, received.Retries);
        Assert.Null(received.Eta);
        Assert.NotNull(received.Expires);
        Assert.True(Fennel.Protocol.CeleryTime.TryParse(received.Expires, out _));
        Assert.IsType<TaskStartedEvent>(events.For(result.Id)[1]);
        Assert.Equal("5", succeeded.Result);
        Assert.InRange(succeeded.Runtime!.Value, 0, 5);
        Assert.All(events.For(result.Id), e => Assert.Equal(worker.Name, e.Hostname));
        // Task events go out as task.multi lists, never singly.
        Assert.All(events.Messages.Where(m => m.RoutingKey.StartsWith("task", StringComparison.Ordinal)), m => Assert.Equal("task.multi", m.RoutingKey));
    }

    [Fact]
    public async Task Failed_retried_revoked_and_rejected_tasks_send_their_events()
    {
        await using var app = CreateApp();
        var attempts = 0;
        app.Task<NoResult>("tasks.flaky", () =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("boom");
        }, new TaskOptions { AutoRetryFor = [typeof(InvalidOperationException)], MaxRetries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10), RetryJitter = false });
        app.Task("tasks.sleep", async (CancellationToken ct) => await Task.Delay(Timeout.Infinite, ct));
        app.Task<int, int>("tasks.square", (int x) => x * x);
        await using var events = await EventRecorder.StartAsync(app);
        var revokedId = Guid.NewGuid().ToString();
        await app.Client.RevokeAsync(revokedId);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();

        var flaky = await app.Client.SendTaskAsync("tasks.flaky");
        var failed = await events.WaitForAsync<TaskFailedEvent>(e => e.TaskId == flaky.Id);
        Assert.Equal("InvalidOperationException('boom')", failed.Exception);
        Assert.Contains("InvalidOperationException", failed.Traceback, StringComparison.Ordinal);
        var retried = Assert.Single(events.For(flaky.Id).OfType<TaskRetriedEvent>());
        Assert.Equal("InvalidOperationException('boom')", retried.Exception);
        Assert.Equal(1, events.For(flaky.Id).OfType<TaskReceivedEvent>().Last().Retries);

        await app.Client.SendTaskAsync("tasks.square", [3], null, new CallOptions { TaskId = revokedId });
        var discarded = await events.WaitForAsync<TaskRevokedEvent>(e => e.TaskId == revokedId);
        Assert.Equal((false, (int?)null, false), (discarded.Terminated!.Value, discarded.Signum, discarded.Expired!.Value));
        Assert.DoesNotContain(events.For(revokedId), e => e is TaskStartedEvent);

        var expired = await app.Client.SendTaskAsync("tasks.square", [3], null, new CallOptions { Expires = DateTimeOffset.UtcNow.AddSeconds(-1) });
        var expiredEvent = await events.WaitForAsync<TaskRevokedEvent>(e => e.TaskId == expired.Id);
        Assert.True(expiredEvent.Expired);
        Assert.False(expiredEvent.Terminated);

        var sleeping = await app.Client.SendTaskAsync("tasks.sleep");
        await events.WaitForAsync<TaskStartedEvent>(e => e.TaskId == sleeping.Id);
        Assert.True(worker.TryTerminate(sleeping.Id));
        var terminated = await events.WaitForAsync<TaskRevokedEvent>(e => e.TaskId == sleeping.Id);
        Assert.Equal((true, (int?)15, false), (terminated.Terminated!.Value, terminated.Signum, terminated.Expired!.Value));

        var unknown = await app.Client.SendTaskAsync("tasks.nobody_has_this");
        var rejected = await events.WaitForAsync<TaskRejectedEvent>(e => e.TaskId == unknown.Id);
        Assert.False(rejected.Requeue);
        Assert.Equal("NotRegistered('tasks.nobody_has_this')", events.For(unknown.Id).OfType<TaskFailedEvent>().Single().Exception);

        var badArgs = await app.Client.SendTaskAsync("tasks.square", ["not a number"]);
        await events.WaitForAsync<TaskRejectedEvent>(e => e.TaskId == badArgs.Id);
        Assert.StartsWith("TypeError(", events.For(badArgs.Id).OfType<TaskFailedEvent>().Single().Exception, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sent_events_match_the_fields_of_Celerys_captured_events()
    {
        await using var app = CreateApp(sentEvents: true);
        app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        app.Task<NoResult>("tasks.flaky", NoResult () => throw new InvalidOperationException("boom"),
            new TaskOptions { AutoRetryFor = [typeof(InvalidOperationException)], MaxRetries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10) });
        await using var events = await EventRecorder.StartAsync(app);
        var worker = app.CreateWorker();
        await worker.StartAsync();
        var add = await app.Client.SendTaskAsync("tasks.add", [2, 3]);
        var flaky = await app.Client.SendTaskAsync("tasks.flaky");
        var expired = await app.Client.SendTaskAsync("tasks.add", [1, 1], null, new CallOptions { Expires = DateTimeOffset.UtcNow.AddSeconds(-1) });
        await events.WaitForAsync<TaskFailedEvent>(e => e.TaskId == flaky.Id);
        await events.WaitForAsync<TaskSucceededEvent>(e => e.TaskId == add.Id);
        await events.WaitForAsync<TaskRevokedEvent>(e => e.TaskId == expired.Id);
        await worker.StopAsync();
        await events.WaitForAsync<WorkerOfflineEvent>();

        // Every body, decoded as sent, has exactly the fields of the same event type in Celery's captures.
        var sentFields = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var message in events.Messages)
        {
            var (envelope, body) = EventRecorder.Open(message);
            Assert.Equal(message.RoutingKey, envelope["properties"]!["delivery_info"]!["routing_key"]!.GetValue<string>());
            Assert.Equal(1, envelope["properties"]!["delivery_mode"]!.GetValue<int>());
            var items = body is JsonArray list ? list.Select(i => i!.AsObject()).ToList() : [body.AsObject()];
            Assert.True(body is JsonArray == (message.RoutingKey == "task.multi"), message.RoutingKey);
            foreach (var item in items)
            {
                Assert.Equal(envelope["headers"]!["hostname"]!.GetValue<string>(), item["hostname"]!.GetValue<string>());
                sentFields.TryAdd(item["type"]!.GetValue<string>(), item);
            }
        }
        string[] types = ["task-sent", "task-received", "task-started", "task-succeeded", "task-failed", "task-retried", "task-revoked",
            "worker-online", "worker-heartbeat", "worker-offline"];
        foreach (var type in types)
        {
            if (type == "worker-heartbeat") continue; // 2 s: covered by the heartbeat test; the same fields as online/offline
            Assert.True(sentFields.ContainsKey(type), $"no {type} was sent");
            var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "events", "redis", type + ".json"));
            var expected = (vector["event"] ?? vector["body_decoded"])!.AsObject();
            Assert.Equal(Keys(expected), Keys(sentFields[type]));
            foreach (var (name, value) in expected)
            {
                if (value is null) continue;
                Assert.True(sentFields[type][name] is not null && value.GetValueKind() == sentFields[type][name]!.GetValueKind()
                    || name is "traceback" or "eta" or "expires" or "parent_id",
                    $"{type}.{name}: Celery sends {value.GetValueKind()}, Fennel {sentFields[type][name]?.GetValueKind()}");
            }
        }
        // task-sent is stamped after publishing (as Celery's client does), so on the in-memory broker the worker's
        // task-received can come first: find it by type, not by place.
        var sent = Assert.Single(events.For(add.Id).OfType<TaskSentEvent>());
        Assert.Equal(app.Client.Origin, sent.Hostname);
        Assert.Equal(("celery", "", "celery"), (sent.Queue, sent.Exchange, sent.RoutingKey));
        Assert.Equal("(2, 3)", sent.Args);
    }

    [Fact]
    public async Task The_monitor_model_builds_from_a_workers_events()
    {
        await using var app = CreateApp();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var state = new ClusterState();
        await using var subscription = await app.Client.SubscribeEventsAsync(e =>
        {
            state.Apply(e);
            return Task.CompletedTask;
        });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var result = await add.DelayAsync(20, 22);
        await result.GetAsync(Wait);
        await Eventually.HoldsAsync(() => state.Snapshot().Tasks.Any(t => t.Id == result.Id && t.State == "SUCCESS"), "SUCCESS in the monitor", Wait);
        var snapshot = state.Snapshot();
        var task = snapshot.Tasks.Single(t => t.Id == result.Id);
        Assert.Equal("tasks.add", task.Name);
        Assert.Equal("(20, 22)", task.Args);
        Assert.Equal("42", task.Result);
        Assert.Equal(worker.Name, task.Worker);
        var node = Assert.Single(snapshot.Workers);
        Assert.Equal(worker.Name, node.Hostname);
        Assert.True(node.IsOnline);
    }

    private static string[] Keys(JsonObject o) => [.. o.Select(p => p.Key).Order(StringComparer.Ordinal)];
}
