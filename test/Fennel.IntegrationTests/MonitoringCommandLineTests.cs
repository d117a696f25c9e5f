using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Fennel.IntegrationTests;

/// <summary>
/// The operator's commands on the embedded SQLite broker, through the test app's own command line (the app-hosted CLI):
/// <c>status</c>, <c>inspect</c>, <c>control</c>, <c>events</c>, their output and exit codes, with real worker processes.
/// </summary>
public sealed class MonitoringCommandLineTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly IntegrationSandbox _sandbox = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    private static string Node(string role) => $"{role}-{Guid.NewGuid().ToString("N")[..6]}@box";

    private async Task<ChildProcess> StartWorkerAsync(string node, params string[] extra)
    {
        var worker = _sandbox.StartTestApp(node, ["worker", "-n", node, "-c", "2", "-l", "info", .. extra]);
        await Eventually.HoldsAsync(() => worker.StderrLines.Any(l => l.Contains($"{node} ready", StringComparison.Ordinal)) || worker.HasExited, () => $"{node} to be ready.\n{worker.Describe()}",
            Patience);
        Assert.False(worker.HasExited, worker.Describe());
        return worker;
    }

    private static int Heartbeats(ChildProcess events, string node) =>
        JsonLines(events).Count(e => e["hostname"]?.GetValue<string>() == node && e["type"]?.GetValue<string>() == "worker-heartbeat");

    private static List<JsonObject> JsonLines(ChildProcess process) =>
        [.. process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)).OfType<JsonObject>()];

    [Fact]
    public async Task Status_inspect_and_control_show_and_change_a_worker_then_shut_it_down_warm()
    {
        var node = Node("cli");
        var worker = await StartWorkerAsync(node);

        var (status, statusExit) = await _sandbox.RunTestAppAsync("status", CommandTimeout, "status", "-l", "warning");
        Assert.True(statusExit == 0, status.Describe());
        Assert.Matches($@"(?m)^{node.Replace(".", @"\.", StringComparison.Ordinal)}\s+online$", status.Stdout);
        Assert.Contains("1 node online.", status.Stdout, StringComparison.Ordinal);

        var (call, callExit) = await _sandbox.RunTestAppAsync("call", CommandTimeout, "call", "test.sleep", "--args", "[4000]", "-l", "warning");
        Assert.True(callExit == 0, call.Describe());
        var taskId = call.Stdout.Trim();
        string? table = null;
        await Eventually.HoldsAsync(async () =>
        {
            var (active, _) = await _sandbox.RunTestAppAsync("inspect", CommandTimeout, "inspect", "active", "-d", node, "-l", "warning");
            table = active.Stdout;
            return table.Contains(taskId, StringComparison.Ordinal);
        }, () => $"inspect active to list {taskId}:\n{table}\n{_sandbox.DescribeProcesses()}", Patience);
        output.WriteLine(table);
        Assert.Contains("test.sleep", table, StringComparison.Ordinal);
        Assert.StartsWith("NODE", table!.TrimStart(), StringComparison.Ordinal);

        var (shrink, shrinkExit) = await _sandbox.RunTestAppAsync("control", CommandTimeout, "control", "pool_shrink", "1", "-d", node, "-l", "warning");
        Assert.True(shrinkExit == 0, shrink.Describe());
        Assert.Contains($"{node}: pool will shrink", shrink.Stdout, StringComparison.Ordinal);
        var (stats, statsExit) = await _sandbox.RunTestAppAsync("inspect", CommandTimeout, "inspect", "stats", "-d", node, "--json", "-l", "warning");
        Assert.True(statsExit == 0, stats.Describe());
        Assert.Equal(1, JsonNode.Parse(stats.Stdout)![node]!["pool"]!["max-concurrency"]!.GetValue<int>());

        var (missing, missingExit) = await _sandbox.RunTestAppAsync("inspect", CommandTimeout, "inspect", "ping", "-d", $"{node},ghost@box", "-l", "warning");
        Assert.True(missingExit == 69, $"a missing node must give exit 69.\n{missing.Describe()}");
        Assert.Contains(node, missing.Stdout, StringComparison.Ordinal);
        Assert.Contains(missing.StderrLines, l => l.Contains("no reply from ghost@box", StringComparison.Ordinal));

        var (shutdown, shutdownExit) = await _sandbox.RunTestAppAsync("control", CommandTimeout, "control", "shutdown", "-d", node, "-l", "warning");
        Assert.True(shutdownExit == 0, shutdown.Describe());
        Assert.Equal(0, await worker.WaitForExitAsync(Patience));
        Assert.Contains(worker.StderrLines, l => l.Contains("warm shutdown", StringComparison.Ordinal));
        // Warm: the sleeping task finished before the worker left.
        var (result, resultExit) = await _sandbox.RunTestAppAsync("result", CommandTimeout, "result", taskId, "-l", "warning");
        Assert.True(resultExit == 0 && result.Stdout.Trim() == "4000", $"The running task must have finished.\n{result.Describe()}");
    }

    [Fact]
    public async Task Events_and_status_watch_follow_a_worker_on_the_embedded_broker_until_it_dies()
    {
        var node = Node("watched");
        var events = _sandbox.StartTestApp("events", "events", "--dump", "--for", "120", "-l", "warning");
        var watch = _sandbox.StartTestApp("status --watch", "status", "--watch", "--json", "--for", "120", "-l", "warning");
        // Both say on stderr when they listen; only what is sent after that reaches them.
        await Eventually.HoldsAsync(() => events.StderrLines.Any(l => l.StartsWith("Listening", StringComparison.Ordinal)), () => events.Describe(), Patience);
        await Eventually.HoldsAsync(() => watch.StderrLines.Any(l => l.Contains("watching heartbeats", StringComparison.Ordinal)), () => watch.Describe(), Patience);
        var worker = await StartWorkerAsync(node, "-E");

        var (call, callExit) = await _sandbox.RunTestAppAsync("call", CommandTimeout, "call", "core.echo", "--args", "[5]", "--wait", "-l", "warning");
        Assert.True(callExit == 0, call.Describe());
        await Eventually.HoldsAsync(() =>
        {
            var types = JsonLines(events).Where(e => e["hostname"]?.GetValue<string>() == node).Select(e => e["type"]!.GetValue<string>()).ToHashSet();
            return types.IsSupersetOf(["worker-online", "worker-heartbeat", "task-received", "task-started", "task-succeeded"]);
        }, () => $"fennel events to show {node}'s worker and task events.\n{events.Describe()}", Patience);
        await Eventually.HoldsAsync(() => JsonLines(watch).Any(l => l["node"]?.GetValue<string>() == node && l["status"]?.GetValue<string>() == "online"), () => $"status --watch to see {node} come online.\n{watch.Describe()}",
            Patience);

        // A heartbeat after the online line: fennel events gets it, and status --watch, on the same broadcast, with it.
        var heartbeats = Heartbeats(events, node);
        await Eventually.HoldsAsync(() => Heartbeats(events, node) > heartbeats, () => $"fennel events to show a heartbeat of {node} after it came online.\n{events.Describe()}",
            Patience);
        var killed = Stopwatch.StartNew();
        worker.Signal(ChildProcess.SigKill);
        await Eventually.HoldsAsync(() => JsonLines(watch).Any(l => l["node"]?.GetValue<string>() == node && l["status"]?.GetValue<string>() == "offline"), () => $"status --watch to report {node} offline.\n{watch.Describe()}",
            Patience);
        output.WriteLine($"{node} offline {killed.Elapsed.TotalSeconds:0.00} s after kill -9 (SQLite broadcast)");
        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(6.5), $"Offline must show within 3 heartbeats; took {killed.Elapsed.TotalSeconds:0.00} s.");
    }
}
