using System.Text.Json.Nodes;
using Fennel.Results;
using Fennel.Tasks;

namespace Fennel.IntegrationTests;

/// <summary>
/// The seed's way of deploying, with the dashboard instead of Flower: the two workers under a real Supervisor
/// (<see cref="Supervisord"/>: autorestart, stopwaitsecs=60) on a SQLite broker file, a dashboard process on the same file,
/// and "shut down" clicked for both. Each finishes the task it runs (warm), says worker-offline and exits 0; Supervisor
/// starts it again, and the dashboard shows it offline, then online with its new pid.
/// </summary>
public sealed class SupervisorDashboardTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "admin";
    private const string Password = "deploy-secret";
    private const int TaskMilliseconds = 3000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly string[] Programs = ["customers", "default"];

    // Task events (-E) from both workers, so the dashboard shows their tasks too.
    private static readonly Dictionary<string, string> WorkerEnvironment = new(StringComparer.Ordinal)
    {
        ["FENNEL_WORKER__TASKEVENTS"] = "true",
    };

    private readonly IntegrationSandbox _sandbox = new();
    private Supervisord? _supervisord;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_supervisord is not null) await _supervisord.DisposeAsync();
        await _sandbox.DisposeAsync();
    }

    private static bool Online(JsonObject? worker) => worker?["online"]?.GetValue<bool>() == true;

    private static int? Pid(JsonObject? worker) => (int?)worker?["pid"];

    [Fact]
    public async Task Both_supervised_workers_warm_shut_down_from_the_dashboard_show_offline_then_online_again_with_new_pids()
    {
        var supervisor = _supervisord = Supervisord.Start(_sandbox, WorkerEnvironment);
        var dashboardProcess = _sandbox.StartTestApp("dashboard", "dashboard", "--port", "0", "--basic-auth", $"{User}:{Password}",
            "--history", Path.Combine(_sandbox.Folder, "dashboard.db"));
        using var dashboard = await DashboardApiClient.ConnectAsync(dashboardProcess, User, Password, Patience);
        string Describe() => $"{supervisor.Describe()}\n{dashboardProcess.Describe()}";

        // startsecs=10: RUNNING means each worker stayed up 10 s, as in production before anyone deploys.
        foreach (var program in Programs) await supervisor.WaitForStateAsync(program, "RUNNING", Patience);
        var host = Fennel.Worker.NodeNames.FullHostName();
        var nodes = new Dictionary<string, string>(StringComparer.Ordinal) { ["customers"] = $"celery@customers.{host}", ["default"] = $"celery@{host}" };
        var oldPids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var program in Programs) oldPids[program] = await supervisor.PidAsync(program);

        IReadOnlyList<JsonObject> workers = [];
        JsonObject? Listed(string program) => workers.FirstOrDefault(w => (string?)w["node"] == nodes[program]);
        string Shown() => new JsonArray([.. workers.Select(w => w.DeepClone())]).ToJsonString();
        await Eventually.HoldsAsync(async () =>
        {
            workers = await dashboard.WorkersAsync();
            return Programs.All(p => Online(Listed(p)) && Pid(Listed(p)) == oldPids[p]);
        }, () => $"GET api/workers to list both workers online with Supervisor's pids {string.Join(", ", oldPids)}: {Shown()}\n{Describe()}", Patience);
        output.WriteLine("before: " + Shown());

        // One slow task on each worker, deaf to cancellation: a warm shutdown lets it finish.
        var handles = new Dictionary<string, AsyncResult>(StringComparer.Ordinal)
        {
            ["customers"] = await _sandbox.App.Client.SendTaskAsync("test.slow", new JsonArray { 1, TaskMilliseconds }, options: new CallOptions { Queue = "customers" }),
            ["default"] = await _sandbox.App.Client.SendTaskAsync("test.slow", new JsonArray { 2, TaskMilliseconds }),
        };
        var tasks = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var program in Programs) tasks[program] = await dashboard.TaskAsync(handles[program].Id);
            return Programs.All(p => (string?)tasks[p]?["state"] is "STARTED" or "SUCCESS");
        }, () => $"GET api/tasks to show both tasks started: {string.Join(", ", tasks.Select(t => t.Value?.ToJsonString()))}\n{Describe()}", Patience);
        Assert.All(Programs, p => Assert.Equal(nodes[p], (string?)tasks[p]!["worker"]));
        var running = Programs.Count(p => (string?)tasks[p]!["state"] == "STARTED");

        // "Shut down" for all of them, as the seed's operators do in Flower.
        var results = await dashboard.PostWorkerActionAsync("shutdown", new { all = true });
        Assert.Equal(nodes.Values.Order(StringComparer.Ordinal), results.Select(r => (string)r["node"]!).Order(StringComparer.Ordinal));
        Assert.All(results, r => Assert.Equal("sent", (string?)r["status"]));

        // Offline: the dashboard got each one's worker-offline (offline_at) after its task ended. The restart can follow
        // in about a second, so the test also notes what it saw on the way.
        var shown = Programs.ToDictionary(p => p, _ => new List<string>(), StringComparer.Ordinal);
        void Note()
        {
            foreach (var program in Programs)
            {
                var state = Online(Listed(program)) ? $"online (pid {Pid(Listed(program))})" : "offline";
                if (shown[program].Count == 0 || shown[program][^1] != state) shown[program].Add(state);
            }
        }
        await Eventually.HoldsAsync(async () =>
        {
            workers = await dashboard.WorkersAsync();
            Note();
            return Programs.All(p => Listed(p)?["offline_at"] is not null);
        }, () => $"GET api/workers to show both workers went offline: {Shown()}\n{Describe()}", Patience);

        // Online again: Supervisor restarted both (autorestart), with new pids, and the dashboard shows them.
        var newPids = new Dictionary<string, int>(StringComparer.Ordinal);
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var program in Programs) newPids[program] = await supervisor.PidAsync(program);
            workers = await dashboard.WorkersAsync();
            Note();
            return Programs.All(p => newPids[p] is not 0 && newPids[p] != oldPids[p] && Online(Listed(p)) && Pid(Listed(p)) == newPids[p]);
        }, () => $"both workers back online with new pids (Supervisor: {string.Join(", ", newPids)}): {Shown()}\n{Describe()}", Patience);
        output.WriteLine("after: " + Shown());
        foreach (var program in Programs) output.WriteLine($"{nodes[program]}: {string.Join(" → ", shown[program])}");

        var log = supervisor.ReadLog();
        foreach (var program in Programs)
        {
            Assert.Contains($"exited: {program} (exit status 0; expected)", log, StringComparison.Ordinal);
            var offlineAt = DateTimeOffset.Parse((string)Listed(program)!["offline_at"]!, System.Globalization.CultureInfo.InvariantCulture);
            var backAt = DateTimeOffset.Parse((string)Listed(program)!["last_heartbeat"]!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(offlineAt < backAt, $"{program}: offline at {offlineAt:O}, then heard from at {backAt:O}.");
            // Warm: the task the worker ran when told to stop finished, by the backend and by the dashboard.
            Assert.Equal(TaskState.Success, (await handles[program].WaitAsync(Patience)).State);
            JsonObject? task = null;
            await Eventually.HoldsAsync(async () => (string?)(task = await dashboard.TaskAsync(handles[program].Id))?["state"] == "SUCCESS", () => $"GET api/tasks/{handles[program].Id} to show SUCCESS: {task?.ToJsonString()}",
                Patience);
            Assert.Equal(nodes[program], (string?)task!["worker"]);
            var journal = _sandbox.ReadJournal();
            Assert.Contains(handles[program].Id, journal.Started(oldPids[program]));
            Assert.Contains(handles[program].Id, journal.Ended(oldPids[program]));
            Assert.Equal(1, journal.StartCounts()[handles[program].Id]);
        }
        output.WriteLine($"{running} of 2 tasks were running when the shutdown was sent.");
    }
}
