using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Tasks;

namespace Fennel.Interop.Tests;

/// <summary>
/// Celery's remote control and events across the language line, with real processes on both sides: Celery's own
/// command line and EventReceiver against Fennel workers, Fennel's command line against Celery workers, and a mixed
/// cluster. Node names are unique per test, so replies from another test's leftovers cannot pass for this one's.
/// </summary>
public abstract class RemoteControlInteropTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private InteropSandbox? _sandbox;

    private protected abstract InteropSetup Setup { get; }

    private InteropSandbox Sandbox => _sandbox ?? throw new InvalidOperationException("Not initialized.");

    public async Task InitializeAsync() => _sandbox = await InteropSandbox.CreateAsync(Setup);

    public async Task DisposeAsync()
    {
        if (_sandbox is not null) await _sandbox.DisposeAsync();
    }

    private static string Node(string role) => $"{role}-{Guid.NewGuid().ToString("N")[..6]}@interop";

    private Task<Results.AsyncResult> SendAsync(string name, string argsJson, string? queue = null) =>
        Sandbox.App.Client.SendTaskAsync(name, JsonNode.Parse(argsJson)!.AsArray(), options: new CallOptions { Queue = queue ?? Sandbox.Queue });

    /// <summary>Runs <c>celery inspect METHOD -d node --json</c> and returns the node's reply.</summary>
    private async Task<JsonNode?> CeleryInspectAsync(string method, string node)
    {
        var (exit, celery) = await Sandbox.RunCeleryCommandAsync("inspect", method, "-d", node, "--json", "--timeout", "5");
        Assert.True(exit == 0, $"celery inspect {method} exited {exit}.\n{celery.Describe()}\n{Sandbox.DescribeProcesses(40)}");
        var replies = ParseLastJson(celery.Stdout) as JsonObject;
        Assert.True(replies is not null && replies.ContainsKey(node), $"celery inspect {method} has no reply from {node}:\n{celery.Stdout}");
        return replies[node];
    }

    /// <summary>Runs <c>fennel inspect|control ... -d node --json</c> and returns the node's reply.</summary>
    private async Task<JsonNode?> FennelAsync(string node, params string[] command)
    {
        var (exit, fennel) = await Sandbox.RunFennelToolAsync([.. command, "-d", node, "--json", "--timeout", "5"]);
        Assert.True(exit == 0, $"fennel {string.Join(" ", command)} exited {exit}.\n{fennel.Describe()}\n{Sandbox.DescribeProcesses(40)}");
        var replies = ParseLastJson(fennel.Stdout) as JsonObject;
        Assert.True(replies is not null && replies.ContainsKey(node), $"fennel {string.Join(" ", command)} has no reply from {node}:\n{fennel.Stdout}");
        return replies[node];
    }

    private static JsonNode? ParseLastJson(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)).LastOrDefault();

    private static List<JsonObject> JsonLines(ChildProcess process) =>
        [.. process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)).OfType<JsonObject>()];

    [Fact]
    public async Task Celery_inspect_sees_a_Fennel_worker_and_celery_control_shutdown_stops_it_warm()
    {
        var node = Node("inspect-net");
        var worker = Sandbox.StartFennelWorker(concurrency: 4, nodeName: node);
        await InteropSandbox.WaitUntilReadyAsync(worker);
        await (await SendAsync("tasks.add", "[1, 2]")).WaitAsync(Patience);

        var ping = await CeleryInspectAsync("ping", node);
        Assert.Equal("pong", ping?["ok"]?.GetValue<string>());

        var registered = (await CeleryInspectAsync("registered", node))!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains("tasks.add", registered);
        Assert.Contains("tasks.sleep", registered);

        var queues = (await CeleryInspectAsync("active_queues", node))!.AsArray().OfType<JsonObject>().ToList();
        Assert.Contains(queues, q => q["name"]?.GetValue<string>() == Sandbox.Queue);

        var stats = (await CeleryInspectAsync("stats", node))!.AsObject();
        Assert.Equal(4, stats["pool"]?["max-concurrency"]?.GetValue<int>());
        Assert.Equal(worker.Id, stats["pid"]?.GetValue<int>());
        Assert.True(stats["total"]?["tasks.add"]?.GetValue<long>() >= 1, $"stats.total must count tasks.add: {stats.ToJsonString()}");

        // A task that runs while Celery asks what is active, and still runs when the shutdown comes.
        var sleeping = await SendAsync("tasks.sleep", "[4]");
        JsonObject? running = null;
        await Eventually.HoldsAsync(async () =>
        {
            running = (await CeleryInspectAsync("active", node))!.AsArray().OfType<JsonObject>().FirstOrDefault(t => t["id"]?.GetValue<string>() == sleeping.Id);
            return running is not null;
        }, () => $"celery inspect active to list {sleeping.Id}.\n{Sandbox.DescribeProcesses(40)}", Patience);
        Assert.Equal("tasks.sleep", running!["name"]?.GetValue<string>());
        output.WriteLine("celery inspect active: " + running.ToJsonString());

        // Celery's workers never answer a shutdown, so Celery's command line reports no reply (exit 69): expected.
        var (_, shutdown) = await Sandbox.RunCeleryCommandAsync("control", "shutdown", "-d", node);
        output.WriteLine(shutdown.Describe());
        Assert.Equal(0, await worker.WaitForExitAsync(Patience));
        Assert.Contains(worker.StderrLines, l => l.Contains("warm shutdown", StringComparison.OrdinalIgnoreCase));
        var finished = await sleeping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Results.TaskState.Success, finished.State);
    }

    [Fact]
    public async Task Celerys_EventReceiver_gets_heartbeats_and_received_started_succeeded_for_every_task_a_Fennel_worker_runs()
    {
        var node = Node("events-net");
        var worker = Sandbox.StartFennelWorker(4, null, node, null, "-E");
        await InteropSandbox.WaitUntilReadyAsync(worker);
        var receiver = Sandbox.StartPython("Celery EventReceiver", "receive_events.py", "--broker", Sandbox.BrokerUrl, "--seconds", "60");
        await Eventually.HoldsAsync(() => JsonLines(receiver).Any(l => l["event"]?["hostname"]?.GetValue<string>() == node
                && l["event"]?["type"]?.GetValue<string>() == "worker-heartbeat"), () => $"Celery's EventReceiver to get a heartbeat from {node}.\n{receiver.Describe()}\n{Sandbox.DescribeProcesses(40)}",
            Patience);

        var calls = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => SendAsync("tasks.add", $"[{i}, 100]")));
        foreach (var call in calls) await call.WaitAsync(Patience);
        string[] wanted = ["task-received", "task-started", "task-succeeded"];
        await Eventually.HoldsAsync(() =>
        {
            var seen = JsonLines(receiver).Select(l => l["event"]).OfType<JsonObject>()
                .Where(e => e["hostname"]?.GetValue<string>() == node && e["uuid"] is not null)
                .Select(e => (Id: e["uuid"]!.GetValue<string>(), Type: e["type"]!.GetValue<string>())).ToHashSet();
            return calls.All(c => wanted.All(t => seen.Contains((c.Id, t))));
        }, () => $"received, started and succeeded for all 10 tasks.\n{receiver.Describe()}", Patience);

        var lines = JsonLines(receiver);
        foreach (var call in calls)
        {
            var last = lines.Last(l => l["event"]?["uuid"]?.GetValue<string>() == call.Id);
            Assert.Equal("SUCCESS", last["task"]?["state"]?.GetValue<string>());
            Assert.Equal("tasks.add", last["task"]?["name"]?.GetValue<string>());
        }
        var heartbeat = lines.Last(l => l["event"]?["hostname"]?.GetValue<string>() == node && l["event"]?["type"]?.GetValue<string>() == "worker-heartbeat");
        Assert.True(heartbeat["worker"]?["alive"]?.GetValue<bool>(), $"Celery's State must hold {node} alive: {heartbeat.ToJsonString()}");
        Assert.Equal(2.0, heartbeat["worker"]?["freq"]?.GetValue<double>());
        output.WriteLine($"{lines.Count} lines from Celery's EventReceiver; last heartbeat: {heartbeat.ToJsonString()}");
    }

    [Fact]
    public async Task The_fennel_tool_inspects_watches_and_shuts_down_a_Celery_worker()
    {
        var node = Node("cli-py");
        var celery = Sandbox.StartCeleryWorker(node, events: true);
        await InteropSandbox.WaitUntilReadyAsync(celery);

        Assert.Equal("pong", (await FennelAsync(node, "inspect", "ping"))?["ok"]?.GetValue<string>());
        var events = Sandbox.StartFennelTool("events", "--dump", "--for", "120");
        await Eventually.HoldsAsync(() => JsonLines(events).Any(e => e["hostname"]?.GetValue<string>() == node && e["type"]?.GetValue<string>() == "worker-heartbeat"), () => $"fennel events to show a heartbeat of {node}.\n{events.Describe()}\n{Sandbox.DescribeProcesses(40)}",
            Patience);

        var sleeping = await SendAsync("tasks.sleep", "[4]");
        JsonObject? running = null;
        await Eventually.HoldsAsync(async () =>
        {
            running = (await FennelAsync(node, "inspect", "active"))!.AsArray().OfType<JsonObject>().FirstOrDefault(t => t["id"]?.GetValue<string>() == sleeping.Id);
            return running is not null;
        }, () => $"fennel inspect active to list {sleeping.Id}.\n{Sandbox.DescribeProcesses(40)}", Patience);
        Assert.Equal("tasks.sleep", running!["name"]?.GetValue<string>());

        var stats = (await FennelAsync(node, "inspect", "stats"))!.AsObject();
        Assert.True(stats["pool"]?["max-concurrency"]?.GetValue<int>() > 0, $"stats: {stats.ToJsonString()}");
        var (exit, human) = await Sandbox.RunFennelToolAsync("inspect", "stats", "-d", node, "--timeout", "5");
        Assert.True(exit == 0 && human.Stdout.Contains(node, StringComparison.Ordinal) && human.Stdout.Contains("concurrency", StringComparison.Ordinal), human.Describe());
        output.WriteLine(human.Stdout);

        await sleeping.WaitAsync(Patience);
        await Eventually.HoldsAsync(() =>
        {
            var types = JsonLines(events).Where(e => e["uuid"]?.GetValue<string>() == sleeping.Id).Select(e => e["type"]?.GetValue<string>()).ToHashSet();
            return types.SetEquals(["task-received", "task-started", "task-succeeded"]);
        }, () => $"fennel events to show received, started and succeeded for {sleeping.Id}.\n{events.Describe()}", Patience);

        var (shutdownExit, shutdown) = await Sandbox.RunFennelToolAsync("control", "shutdown", "-d", node);
        Assert.True(shutdownExit == 0, shutdown.Describe());
        Assert.Equal(0, await celery.WaitForExitAsync(Patience));
    }

    [Fact]
    public async Task In_a_mixed_cluster_status_lists_three_nodes_and_a_killed_worker_goes_offline_within_three_heartbeats()
    {
        var (a, b, py) = (Node("mixed-net-a"), Node("mixed-net-b"), Node("mixed-py"));
        var workerA = Sandbox.StartFennelWorker(concurrency: 2, nodeName: a);
        var workerB = Sandbox.StartFennelWorker(concurrency: 2, nodeName: b);
        var celery = Sandbox.StartCeleryWorker(py);
        foreach (var worker in new[] { workerA, workerB, celery }) await InteropSandbox.WaitUntilReadyAsync(worker);

        var (exit, status) = await Sandbox.RunFennelToolAsync("status", "--json", "--timeout", "3");
        Assert.True(exit == 0, status.Describe());
        var online = ParseLastJson(status.Stdout)!["online"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.True(new[] { a, b, py }.All(online.Contains), $"fennel status must list {a}, {b} and {py}: {status.Stdout}");
        var (humanExit, human) = await Sandbox.RunFennelToolAsync("status", "--timeout", "3");
        Assert.True(humanExit == 0 && human.Stdout.Contains(py, StringComparison.Ordinal), human.Describe());
        output.WriteLine(human.Stdout);

        var events = Sandbox.StartFennelTool("events", "--dump", "--workers-only", "--for", "120");
        var watch = Sandbox.StartFennelTool("status", "--watch", "--json", "--for", "120");
        await Eventually.HoldsAsync(() => JsonLines(watch).Count(l => l["status"]?.GetValue<string>() == "online") >= 3, () => $"fennel status --watch to list the nodes.\n{watch.Describe()}",
            Patience);
        // The watcher hears each worker's heartbeat (every 2 s) before one of them dies without saying so: fennel events,
        // on the same broadcast, shows a heartbeat of each one after the watcher listed them.
        int Heartbeats(string node) => JsonLines(events).Count(e => e["hostname"]?.GetValue<string>() == node && e["type"]?.GetValue<string>() == "worker-heartbeat");
        var before = new[] { a, b, py }.ToDictionary(n => n, Heartbeats);
        await Eventually.HoldsAsync(() => before.All(n => Heartbeats(n.Key) > n.Value), () => $"fennel events to show a heartbeat of {a}, {b} and {py}.\n{events.Describe()}",
            Patience);
        var killed = Stopwatch.StartNew();
        workerB.Signal(ChildProcess.SigKill);
        await Eventually.HoldsAsync(() => JsonLines(watch).Any(l => l["node"]?.GetValue<string>() == b && l["status"]?.GetValue<string>() == "offline"), () => $"fennel status --watch to report {b} offline.\n{watch.Describe()}",
            Patience);
        var elapsed = killed.Elapsed;
        output.WriteLine($"{b} reported offline {elapsed.TotalSeconds:0.00} s after kill -9: " +
            JsonLines(watch).Last(l => l["node"]?.GetValue<string>() == b).ToJsonString());
        Assert.True(elapsed < TimeSpan.FromSeconds(6.5), $"Offline must show within 3 heartbeats (6 s); took {elapsed.TotalSeconds:0.00} s.\n{watch.Describe()}");
        Assert.DoesNotContain(JsonLines(watch), l => l["status"]?.GetValue<string>() == "offline" && l["node"]?.GetValue<string>() is { } n && (n == a || n == py));
    }

    [Fact]
    public async Task Control_pool_grow_add_consumer_and_rate_limit_change_a_running_Fennel_worker()
    {
        var node = Node("control-net");
        var worker = Sandbox.StartFennelWorker(concurrency: 2, nodeName: node);
        await InteropSandbox.WaitUntilReadyAsync(worker);

        var grown = await FennelAsync(node, "control", "pool_grow", "4");
        Assert.NotNull(grown?["ok"]);
        Assert.Equal(6, (await FennelAsync(node, "inspect", "stats"))?["pool"]?["max-concurrency"]?.GetValue<int>());

        var newQueue = Sandbox.Queue + "-new";
        Assert.NotNull((await FennelAsync(node, "control", "add_consumer", newQueue))?["ok"]);
        var queues = (await FennelAsync(node, "inspect", "active_queues"))!.AsArray().Select(q => q?["name"]?.GetValue<string>()).ToList();
        Assert.Contains(newQueue, queues);
        var onNewQueue = await (await SendAsync("tasks.add", "[20, 22]", newQueue)).WaitAsync(Patience);
        Assert.Equal(42, onNewQueue.Result?.GetValue<int>());

        Assert.NotNull((await FennelAsync(node, "control", "rate_limit", "tasks.add", "5/s"))?["ok"]);
        var sent = Stopwatch.StartNew();
        var limited = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => SendAsync("tasks.add", $"[{i}, 1]")));
        foreach (var call in limited) await call.WaitAsync(Patience);
        var took = sent.Elapsed;
        output.WriteLine($"16 × tasks.add at rate_limit 5/s, sent right after the reply, finished in {took.TotalSeconds:0.00} s");
        // 16 tasks at 5/s need 15 intervals of 200 ms: 3 s. Without the limit they take a few milliseconds.
        Assert.True(took >= TimeSpan.FromSeconds(2.6), $"rate_limit 5/s must space the 16 tasks over about 3 s; they took {took.TotalSeconds:0.00} s.");
        _ = worker;
    }
}

public sealed class RemoteControlOnRedisTests(ITestOutputHelper output) : RemoteControlInteropTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.Redis;
}

public sealed class RemoteControlOnRabbitMQTests(ITestOutputHelper output) : RemoteControlInteropTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.RabbitMQWithRedisResults;
}
