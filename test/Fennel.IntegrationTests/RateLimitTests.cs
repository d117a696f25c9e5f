using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Results;
using Fennel.Testing.Servers;

namespace Fennel.IntegrationTests;

/// <summary>
/// Rate limits with real worker processes: cluster-wide through the broker (Redis, SQLite), and per worker without
/// holding up other tasks. Durations are measured from the tasks' own start and end times, and only ever from below.
/// </summary>
public sealed class RateLimitTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string RedisUrl = RedisTestServer.Url(3);
    private IntegrationSandbox? _sandbox;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_sandbox is not null) await _sandbox.DisposeAsync();
    }

    private sealed record Report(long Started, long Ended, string Worker);

    [Fact]
    public async Task Cluster_wide_10_per_second_on_Redis_holds_across_two_workers()
    {
        await RedisBroker.FlushAsync(RedisUrl);
        await RunClusterWideAsync(new IntegrationSandbox(RedisUrl));
    }

    [Fact]
    public async Task Cluster_wide_10_per_second_on_SQLite_holds_across_two_workers()
    {
        await RunClusterWideAsync(new IntegrationSandbox());
    }

    /// <summary>
    /// 100 tasks at 10/s shared by two workers: the first starts and the last ends at least 9 s apart (99 intervals of
    /// 100 ms, less slack for two processes' clocks). Per worker, each would run 10/s and all would be done in about 5 s.
    /// </summary>
    private async Task RunClusterWideAsync(IntegrationSandbox sandbox)
    {
        _sandbox = sandbox;
        var cluster = new Dictionary<string, string> { ["FENNEL_RATE_LIMIT_SCOPE"] = "Cluster" };
        var a = sandbox.StartTestApp("worker A", ["worker", "-n", "a.%h", "-c", "4", "-l", "info"], cluster);
        var b = sandbox.StartTestApp("worker B", ["worker", "-n", "b.%h", "-c", "4", "-l", "info"], cluster);

        var results = await sandbox.App.Client.SendBatchAsync(
            [.. Enumerable.Range(0, 100).Select(i => new TaskCall("test.rated", new JsonArray(i)))]);
        var reports = new List<Report>();
        foreach (var result in results) reports.Add(await result.GetAsync<Report>(TimeSpan.FromSeconds(90)));

        var first = DateTimeOffset.FromUnixTimeMilliseconds(reports.Min(r => r.Started));
        var last = DateTimeOffset.FromUnixTimeMilliseconds(reports.Max(r => r.Ended));
        var byWorker = reports.GroupBy(r => r.Worker).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"100 tasks at 10/s cluster-wide: first start to last end {(last - first).TotalSeconds:0.00} s; " +
            string.Join(", ", byWorker.Select(p => $"{p.Key} ran {p.Value}")));
        Assert.True(last - first >= TimeSpan.FromSeconds(9),
            $"100 tasks at 10/s across two workers ran within {(last - first).TotalSeconds:0.00} s.\n{sandbox.DescribeProcesses()}");
        Assert.Equal(2, byWorker.Count); // both workers took part: the limit was shared, not one worker's own
        Assert.Contains(a.StderrLines, l => l.Contains("test.rated 10/s (cluster-wide)", StringComparison.Ordinal));

        a.Signal(ChildProcess.SigTerm);
        b.Signal(ChildProcess.SigTerm);
        Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await b.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Per_worker_an_unrelated_task_is_not_held_up_behind_rate_limited_ones_and_nothing_is_lost()
    {
        // One worker, concurrency 1: it holds 4 messages. 40 tasks at 2/s are queued before 5 echo tasks; Celery's worker
        // would run the echoes only after about 37 of the 40 (the prefetch full of waiting ones).
        _sandbox = new IntegrationSandbox();
        var worker = _sandbox.StartTestApp("worker", "worker", "-c", "1", "-l", "info");
        var limited = await _sandbox.App.Client.SendBatchAsync(
            [.. Enumerable.Range(0, 40).Select(i => new TaskCall("test.rated_slow", new JsonArray(i)))]);
        var echoes = await _sandbox.App.Client.SendBatchAsync(
            [.. Enumerable.Range(0, 5).Select(i => new TaskCall("core.echo", new JsonArray(i)))]);

        foreach (var echo in echoes) Assert.Equal(TaskState.Success, (await echo.WaitAsync(TimeSpan.FromSeconds(60))).State);
        var limitedIds = limited.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var startedBefore = _sandbox.ReadJournal().Entries.Count(e => e.Kind == "start" && limitedIds.Contains(e.TaskId));
        output.WriteLine($"the 5 echoes were done when {startedBefore} of the 40 rate-limited tasks had started");
        Assert.True(startedBefore <= 20, $"The echo tasks waited for {startedBefore} of 40 rate-limited tasks.\n{_sandbox.DescribeProcesses()}");

        // A warm shutdown now gives every waiting rate-limited task back: each one ran once or is still in the broker.
        worker.Signal(ChildProcess.SigTerm);
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var ran = _sandbox.ReadJournal().StartCounts();
        var inBroker = await _sandbox.ReadUnacknowledgedTaskIdsAsync();
        foreach (var id in limitedIds)
        {
            var runs = ran.GetValueOrDefault(id);
            Assert.True(runs == 1 || (runs == 0 && inBroker.Contains(id)), $"Task {id} ran {runs} time(s) and is {(inBroker.Contains(id) ? "" : "not ")}in the broker.");
        }
        Assert.True(inBroker.Count > 0, "Every rate-limited task had run before the shutdown; the test shows nothing about giving them back.");
    }
}
