using System.Text;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Tasks;
using Fennel.Testing;
using Fennel.Tests.Events;
using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.Tests.Calling;

public class ClientEventsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static FennelApp CreateApp(ListLoggerProvider logs, Action<Fennel.Configuration.FennelOptions>? options = null) =>
        TestApps.Create(b =>
        {
            b.Services.AddSingleton<ILoggerProvider>(logs);
            b.Logging.AddFilter<ListLoggerProvider>(null, LogLevel.Trace);
        }, options);

    private static byte[] Envelope(string body, string routingKey = "task.multi") => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["body"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(body)),
        ["content-encoding"] = "utf-8",
        ["content-type"] = "application/json",
        ["headers"] = new JsonObject { ["hostname"] = "capture@vm" },
        ["properties"] = new JsonObject { ["body_encoding"] = "base64", ["delivery_info"] = new JsonObject { ["exchange"] = "celeryev", ["routing_key"] = routingKey } },
    }.ToJsonString());

    [Fact]
    public async Task Celerys_captured_events_decode_singly_and_in_batches_and_move_the_clock()
    {
        var logs = new ListLoggerProvider();
        await using var app = CreateApp(logs);
        var received = new List<CeleryEvent>();
        await using (await app.Client.SubscribeEventsAsync(e =>
        {
            lock (received) received.Add(e);
            return Task.CompletedTask;
        }))
        {
            var broadcast = (IBroadcastTransport)app.Transport;
            var multi = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "events", "redis", "task.multi.json"));
            var heartbeat = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "events", "redis", "worker-heartbeat.json"));
            await broadcast.BroadcastAsync("celeryev", "task.multi", Encoding.UTF8.GetBytes(multi["raw"]!.GetValue<string>()));
            await broadcast.BroadcastAsync("celeryev", "worker.heartbeat", Encoding.UTF8.GetBytes(heartbeat["raw"]!.GetValue<string>()));
            await Eventually.HoldsAsync(() => received.Count == 4, "3 + 1 events", Wait);
        }
        Assert.Equal(["task-succeeded", "task-succeeded", "task-received", "worker-heartbeat"], received.Select(e => e.Type));
        Assert.Equal("(2, 2)", ((TaskReceivedEvent)received[2]).Args);
        // The clock went past every clock received (71, 72, 73 and the heartbeat's).
        Assert.True(app.Clock.Value > received.Max(e => e.Clock!.Value));
        Assert.DoesNotContain(logs.Lines, l => l.Id is 2404 or 2405);
    }

    [Fact]
    public async Task A_malformed_event_is_logged_and_skipped_and_a_failing_handler_does_not_stop_the_rest()
    {
        var logs = new ListLoggerProvider();
        await using var app = CreateApp(logs);
        var received = new List<CeleryEvent>();
        await using (await app.Client.SubscribeEventsAsync(e =>
        {
            lock (received) received.Add(e);
            return e.Hostname == "angry@vm" ? throw new InvalidOperationException("handler bug") : Task.CompletedTask;
        }))
        {
            var broadcast = (IBroadcastTransport)app.Transport;
            await broadcast.BroadcastAsync("celeryev", "task.multi", Encoding.UTF8.GetBytes("not an envelope"));
            await broadcast.BroadcastAsync("celeryev", "task.multi", Envelope("[1, 2"));
            // One bad item in a batch costs only itself.
            await broadcast.BroadcastAsync("celeryev", "task.multi", Envelope(
                """[{"type": "task-started", "hostname": "w@vm", "timestamp": 1.5}, {"type": "task-started", "uuid": "ok", "hostname": "w@vm", "timestamp": 2.5}]"""));
            await broadcast.BroadcastAsync("celeryev", "worker.online", Envelope(
                """{"type": "worker-online", "hostname": "angry@vm", "timestamp": 3.5}""", "worker.online"));
            await broadcast.BroadcastAsync("celeryev", "worker.heartbeat", Envelope(
                """{"type": "worker-heartbeat", "hostname": "calm@vm", "timestamp": 4.5, "clock": 1000}""", "worker.heartbeat"));
            await Eventually.HoldsAsync(() => received.Count == 3, "the three good events", Wait);
        }
        Assert.Equal(["ok"], received.OfType<TaskEvent>().Select(e => e.TaskId));
        Assert.Equal(["angry@vm", "calm@vm"], received.OfType<WorkerEvent>().Select(e => e.Hostname));
        var skipped = logs.Lines.Where(l => l.Id == 2404).ToList();
        Assert.Equal(3, skipped.Count);
        Assert.Contains("not valid JSON", skipped[0].Text, StringComparison.Ordinal);
        Assert.Contains("'uuid'", skipped[2].Text, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.Id == 2405 && l.Text.Contains("handler bug", StringComparison.Ordinal));
        Assert.True(app.Clock.Value > 1000);
    }

    [Fact]
    public async Task Subscribing_on_a_broker_that_cannot_broadcast_says_so()
    {
        var logs = new ListLoggerProvider();
        await using var app = TestApps.Create(b => b.Services.AddSingleton<ITransportProvider>(new NoBroadcastProvider()),
            o => o.BrokerUrl = "nobroadcast://x");
        var ex = await Assert.ThrowsAsync<FennelConfigurationException>(() => app.Client.SubscribeEventsAsync(_ => Task.CompletedTask));
        Assert.Contains("cannot broadcast", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_sent_is_off_by_default_and_sent_singly_from_the_client_when_on()
    {
        var logs = new ListLoggerProvider();
        await using var quietApp = CreateApp(logs);
        await using var quiet = await EventRecorder.StartAsync(quietApp);
        await quietApp.Client.SendTaskAsync("tasks.anything", [1]);

        await using var app = CreateApp(logs, o => o.TaskSentEvents = true);
        await using var events = await EventRecorder.StartAsync(app);
        var eta = DateTimeOffset.UtcNow.AddMinutes(5);
        var result = await app.Client.SendTaskAsync("tasks.anything", [1, "two"], new JsonObject { ["x"] = 3 }, new CallOptions { Eta = eta, Queue = "q1" });
        var sent = await events.WaitForAsync<TaskSentEvent>();
        Assert.Equal(result.Id, sent.TaskId);
        Assert.Equal(app.Client.Origin, sent.Hostname);
        Assert.Equal($"gen{Environment.ProcessId}@{Environment.MachineName}", sent.Hostname);
        Assert.Equal(("tasks.anything", "(1, 'two')", "{'x': 3}"), (sent.Name, sent.Args, sent.Kwargs));
        Assert.Equal(("q1", "", "q1"), (sent.Queue, sent.Exchange, sent.RoutingKey));
        Assert.Equal(CeleryTime.Format(eta), sent.Eta);
        Assert.Equal("task.sent", Assert.Single(events.Messages).RoutingKey);
        Assert.Empty(quiet.Events);
    }

    [Fact]
    public async Task Sensitive_arguments_are_hidden_in_headers_events_and_logs()
    {
        var logs = new ListLoggerProvider();
        await using var app = CreateApp(logs, o =>
        {
            o.TaskSentEvents = true;
            o.Worker.TaskEvents = true;
        });
        app.Task<string, string, int, string>("tasks.login", (string user, [Sensitive] string password, int pin) => user,
            new TaskOptions { SensitiveArguments = ["pin"] });
        app.Task<int, int>("tasks.charge", ([Sensitive] int cardNumber) => 0);
        await using var events = await EventRecorder.StartAsync(app);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();

        // The headers a Python worker or Flower would show.
        var (message, _) = app.Client.Build(new TaskCall("tasks.login", app.Client.ToJsonArgs("ada", "hunter2"), new JsonObject { ["pin"] = 1234 }, null));
        Assert.Equal("('ada', '***')", message.ArgsRepr);
        Assert.Equal("{'pin': '***'}", message.KwargsRepr);
        var decoded = TaskEnvelope.Decode(TaskEnvelope.Encode(message, "celery", DateTimeOffset.UtcNow)).Message;
        Assert.Equal("('ada', '***')", decoded.ArgsRepr);

        var login = await app.Client.SendTaskAsync("tasks.login", app.Client.ToJsonArgs("ada", "hunter2"), new JsonObject { ["pin"] = 1234 });
        Assert.Equal("ada", await login.GetAsync<string>(Wait));
        var received = await events.WaitForAsync<TaskReceivedEvent>(e => e.TaskId == login.Id);
        var sent = await events.WaitForAsync<TaskSentEvent>(e => e.TaskId == login.Id);
        foreach (var e in new TaskDescriptionEvent[] { received, sent })
        {
            Assert.Equal("('ada', '***')", e.Args);
            Assert.Equal("{'pin': '***'}", e.Kwargs);
        }

        // A Python client knows nothing of what is sensitive here: the worker's events hide it anyway.
        var fromPython = new TaskMessage
        {
            Id = Guid.NewGuid().ToString(), Task = "tasks.login", Args = ["bob", "s3cret"], Kwargs = new JsonObject { ["pin"] = 9876 },
            ArgsRepr = "('bob', 's3cret')", KwargsRepr = "{'pin': 9876}",
        };
        await app.Client.PublishAsync(fromPython, "celery");
        var fromPythonReceived = await events.WaitForAsync<TaskReceivedEvent>(e => e.TaskId == fromPython.Id);
        Assert.Equal("('bob', '***')", fromPythonReceived.Args);
        Assert.Equal("{'pin': '***'}", fromPythonReceived.Kwargs);

        // A value that does not fit is not shown in the dead-letter log line, the stored error or the events.
        var bad = await app.Client.SendTaskAsync("tasks.charge", ["4111-1111-1111-1111"]);
        await events.WaitForAsync<TaskRejectedEvent>(e => e.TaskId == bad.Id);
        var failed = events.For(bad.Id).OfType<TaskFailedEvent>().Single();
        Assert.Contains("'***'", failed.Exception, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.Id == 3000 && l.Text.Contains(bad.Id, StringComparison.Ordinal));

        var everything = string.Join("\n", logs.Lines.Select(l => l.Text))
            + string.Join("\n", events.Messages.Select(m => Encoding.UTF8.GetString(KombuEnvelope.Decode(m.Body.Span).Body)));
        foreach (var secret in new[] { "hunter2", "1234", "s3cret", "9876", "4111-1111-1111-1111" })
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_sensitive_name_that_is_not_an_argument_fails_registration()
    {
        var logs = new ListLoggerProvider();
        await using var app = CreateApp(logs);
        var ex = Assert.Throws<FennelConfigurationException>(() =>
            app.Task<string, string>("tasks.x", (string user) => user, new TaskOptions { SensitiveArguments = ["password"] }));
        Assert.Contains("'password'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("user", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sensitive_on_the_whole_task_hides_every_argument()
    {
        var logs = new ListLoggerProvider();
        await using var app = CreateApp(logs);
        app.Task<string, string>("tasks.secret", (string s) => s, new TaskOptions { Sensitive = true });
        var (message, _) = app.Client.Build(new TaskCall("tasks.secret", app.Client.ToJsonArgs("x"), null, null));
        Assert.Equal(("'***'", "'***'"), (message.ArgsRepr, message.KwargsRepr));
        var (plain, _) = app.Client.Build(new TaskCall("tasks.unknown", app.Client.ToJsonArgs("x"), null, null));
        Assert.Null(plain.ArgsRepr); // nothing sensitive: the codec writes the full repr
    }

    private sealed class NoBroadcastProvider : ITransportProvider
    {
        public IReadOnlyCollection<string> Schemes => ["nobroadcast"];

        public ITransport CreateTransport(string url, IServiceProvider services) => new NoBroadcastTransport();

        public Fennel.Results.IResultStore? CreateResultStore(string url, IServiceProvider services) => null;
    }

    /// <summary>A broker without broadcast (as a transport that lacks the capability would be).</summary>
    private sealed class NoBroadcastTransport : ITransport
    {
        public TransportCapabilities Capabilities => TransportCapabilities.None;

        public Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait,
            CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<Delivery>>([]);

        public Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default) => Task.FromResult(0L);

        public Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default) => Task.FromResult(0L);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
