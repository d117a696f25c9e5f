using System.Text.Json.Nodes;
using Fennel.Results;
using Fennel.Tasks;

namespace Fennel.Interop.Tests;

/// <summary>
/// The dashboard (the <c>fennel dashboard</c> tool, a process of its own) on the broker of two real Python Celery workers
/// (<c>celery worker -E</c>) and a Fennel worker, used over its JSON API as a script or the browser would: it lists the
/// three, shows a Celery worker's task, and warm-shuts that worker down while the others stay online.
/// </summary>
public abstract class DashboardInteropTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "admin";
    private const string Password = "interop-secret";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private InteropSandbox? _sandbox;

    private protected abstract InteropSetup Setup { get; }

    private InteropSandbox Sandbox => _sandbox ?? throw new InvalidOperationException("Not initialized.");

    public async Task InitializeAsync() => _sandbox = await InteropSandbox.CreateAsync(Setup);

    public async Task DisposeAsync()
    {
        if (_sandbox is not null) await _sandbox.DisposeAsync();
    }

    private static string Node(string role) => $"{role}-{Guid.NewGuid().ToString("N")[..6]}@interop";

    private static bool Online(JsonObject? worker) => worker?["online"]?.GetValue<bool>() == true;

    [Fact]
    public async Task Celery_workers_show_in_the_dashboard_and_one_warm_shut_down_from_it_goes_offline_while_the_others_stay_online()
    {
        var (pyA, pyB, net) = (Node("dash-py-a"), Node("dash-py-b"), Node("dash-net"));
        var celery = new Dictionary<string, ChildProcess>(StringComparer.Ordinal)
        {
            [pyA] = Sandbox.StartCeleryWorker(pyA, events: true),
            [pyB] = Sandbox.StartCeleryWorker(pyB, events: true),
        };
        // The Fennel worker consumes a queue of its own, so the task below can only go to a Celery worker.
        var fennel = Sandbox.StartFennelWorker(concurrency: 2, nodeName: net, queue: Sandbox.Queue + "-net", extraArguments: "-E");
        var dashboardProcess = Sandbox.StartFennelTool("dashboard", "--port", "0", "--basic-auth", $"{User}:{Password}",
            "--history", Path.Combine(Sandbox.Folder, "dashboard.db"), "--for", "600");
        using var dashboard = await DashboardApiClient.ConnectAsync(dashboardProcess, User, Password, Patience);
        foreach (var worker in celery.Values.Append(fennel)) await InteropSandbox.WaitUntilReadyAsync(worker);

        IReadOnlyList<JsonObject> workers = [];
        JsonObject? Listed(string node) => workers.FirstOrDefault(w => (string?)w["node"] == node);
        async Task<bool> WorkersShowAsync(Func<bool> condition)
        {
            workers = await dashboard.WorkersAsync();
            return condition();
        }
        await Eventually.HoldsAsync(() => WorkersShowAsync(() => new[] { pyA, pyB, net }.All(n => Online(Listed(n)))), () => $"GET api/workers to list {pyA}, {pyB} and {net} online: {new JsonArray([.. workers.Select(w => w.DeepClone())]).ToJsonString()}\n" +
                Sandbox.DescribeProcesses(40),
            Patience);
        foreach (var (node, process) in celery)
        {
            var listed = Listed(node)!;
            Assert.Equal("py-celery", (string?)listed["sw"]?["ident"]);
            Assert.Equal(process.Id, (int?)listed["pid"]);
        }
        Assert.Equal("fennel", (string?)Listed(net)!["sw"]?["ident"]);
        Assert.Equal(fennel.Id, (int?)Listed(net)!["pid"]);
        output.WriteLine("api/workers: " + new JsonArray([.. workers.Select(w => w.DeepClone())]).ToJsonString());

        // A task one of the Celery workers runs; the dashboard shows it started there, and which one took it.
        var sleeping = await Sandbox.App.Client.SendTaskAsync("tasks.sleep", new JsonArray { 4 }, options: new CallOptions { Queue = Sandbox.Queue });
        JsonObject? task = null;
        // STARTED; on a machine slow enough to take 4 s to show it, already SUCCESS (the shutdown then finds nothing running).
        await Eventually.HoldsAsync(async () => (task = await dashboard.TaskAsync(sleeping.Id)) is not null && (string?)task["state"] is "STARTED" or "SUCCESS", () => $"GET api/tasks/{sleeping.Id} to show it STARTED: {task?.ToJsonString() ?? "not listed"}\n{Sandbox.DescribeProcesses(40)}",
            Patience);
        output.WriteLine($"api/tasks/{sleeping.Id}: {task!.ToJsonString()}");
        var victim = (string?)task!["worker"] ?? throw new InvalidOperationException($"The task has no worker: {task.ToJsonString()}");
        Assert.Contains(victim, celery.Keys);
        Assert.Equal("tasks.sleep", (string?)task["name"]);
        var byWorker = await dashboard.GetJsonAsync("api/tasks?worker=" + Uri.EscapeDataString(victim));
        Assert.Contains(byWorker["tasks"]!.AsArray(), t => (string?)t!["id"] == sleeping.Id);

        // Warm shutdown of that worker from the dashboard: Celery sends no reply, so the answer is "sent".
        var result = Assert.Single(await dashboard.PostWorkerActionAsync("shutdown", new { nodes = new[] { victim } }));
        Assert.Equal(victim, (string?)result["node"]);
        Assert.Equal("sent", (string?)result["status"]);

        // Watch the dashboard until the worker has exited, its task is SUCCESS there and it shows offline. Celery says
        // worker-offline when its warm shutdown begins, then finishes the task: from then on the worker must stay offline.
        var shown = new List<string>();
        await Eventually.HoldsAsync(async () =>
        {
            workers = await dashboard.WorkersAsync();
            task = await dashboard.TaskAsync(sleeping.Id);
            var online = Online(Listed(victim));
            if (shown.Count == 0 || shown[^1] != (online ? "online" : "offline")) shown.Add(online ? "online" : "offline");
            return celery[victim].HasExited && (string?)task?["state"] == "SUCCESS" && !online && Listed(victim)?["offline_at"] is not null;
        }, () => $"{victim} to exit, its task to show SUCCESS and the worker offline: {Listed(victim)?.ToJsonString()}, {task?.ToJsonString()}\n" +
            Sandbox.DescribeProcesses(40), Patience);
        Assert.True(await celery[victim].WaitForExitAsync(Patience) == 0, $"The Celery worker must exit 0.\n{celery[victim].Describe()}");
        Assert.Equal(TaskState.Success, (await sleeping.WaitAsync(TimeSpan.FromSeconds(10))).State);
        Assert.Equal(victim, (string?)task!["worker"]);
        var back = shown.SkipWhile(s => s == "online").Contains("online");
        Assert.False(back, $"Once offline, {victim} must stay offline; the dashboard showed it {string.Join(" → ", shown)}.");
        var others = new[] { pyA, pyB, net }.Where(n => n != victim).ToList();
        Assert.All(others, n => Assert.True(Online(Listed(n)), $"{n} must stay online: {Listed(n)?.ToJsonString()}"));
        Assert.All(celery.Where(c => c.Key != victim).Select(c => c.Value).Append(fennel), p => Assert.False(p.HasExited, p.Describe()));
        output.WriteLine($"{victim} ran {sleeping.Id}, was shut down from the dashboard and shown offline: {Listed(victim)!.ToJsonString()}");
    }
}

public sealed class DashboardOnRedisTests(ITestOutputHelper output) : DashboardInteropTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.Redis;
}

public sealed class DashboardOnRabbitMQTests(ITestOutputHelper output) : DashboardInteropTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.RabbitMQWithRedisResults;
}
