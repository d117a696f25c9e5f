using System.Diagnostics;
using Fennel.Calling;
using Fennel.Results;

namespace Fennel.IntegrationTests;

/// <summary>
/// Durable revokes with real worker processes, on each broker (<see cref="SqliteRevokeTests"/>,
/// <see cref="RedisRevokeTests"/>, <see cref="RabbitMQRevokeTests"/>): revokes made while every worker is offline are
/// honoured by the workers started afterwards, and a revoke with terminate stops running tasks.
/// </summary>
public abstract class RevokeTests : IAsyncLifetime
{
    private const int Revoked = 100;
    private const int Kept = 20;
    private static readonly TimeSpan AllDone = TimeSpan.FromSeconds(90);

    private readonly ITestOutputHelper _output;
    private readonly IntegrationSandbox _sandbox;

    private protected RevokeTests(ITestOutputHelper output, IntegrationSandbox sandbox)
    {
        _output = output;
        _sandbox = sandbox;
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Tasks_revoked_while_every_worker_is_offline_never_run_on_the_restarted_workers_and_end_revoked()
    {
        // A worker ran and stopped: it knew nothing of the revokes, and nothing else holds them in memory.
        var a = StartWorker("worker A", "a.%h");
        var first = await _sandbox.App.Client.SendTaskAsync("core.echo", [0]);
        Assert.Equal(TaskState.Success, (await first.WaitAsync(AllDone)).State);
        a.Signal(ChildProcess.SigTerm);
        Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var revoked = await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(1, Revoked).Select(i => new TaskCall("core.echo", [i]))]);
        var kept = await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(1, Kept).Select(i => new TaskCall("core.echo", [-i]))]);
        // Half through the API, half through the command line.
        await _sandbox.App.Client.RevokeAsync(revoked.Take(Revoked / 2).Select(r => r.Id));
        var (cli, exitCode) = await _sandbox.RunTestAppAsync("revoke", TimeSpan.FromSeconds(60), ["revoke", .. revoked.Skip(Revoked / 2).Select(r => r.Id)]);
        Assert.True(exitCode == 0, $"revoke exited with {exitCode}.\n{cli.Describe()}");

        // Every worker restarted.
        var b = StartWorker("worker B", "b.%h");
        var c = StartWorker("worker C", "c.%h");
        foreach (var handle in kept) Assert.Equal(TaskState.Success, (await WaitAsync(handle)).State);
        foreach (var handle in revoked)
        {
            var result = await WaitAsync(handle);
            Assert.True(result.State == TaskState.Revoked, $"Revoked task {handle.Id} ended {result.State.ToWire()} on {result.Worker}.");
            Assert.Equal("TaskRevokedError", result.Result?["exc_type"]?.GetValue<string>());
            Assert.Equal("revoked", result.Result?["exc_message"]?[0]?.GetValue<string>());
        }

        var journal = _sandbox.ReadJournal();
        var ran = revoked.Where(r => journal.StartCounts().ContainsKey(r.Id)).Select(r => r.Id).ToList();
        Assert.True(ran.Count == 0, $"{ran.Count} revoked tasks ran: {string.Join(", ", ran.Take(10))}.\n{_sandbox.DescribeProcesses()}");
        Assert.All(kept, k => Assert.True(journal.StartCounts().ContainsKey(k.Id), $"kept task {k.Id} never ran"));
        // Acknowledged, not left in the broker.
        await Eventually.HoldsAsync(async () => (await _sandbox.ReadUnacknowledgedTaskIdsAsync()).Count == 0,
            () => "every message to be acknowledged", TimeSpan.FromSeconds(30));
        _output.WriteLine($"{Revoked} revoked tasks discarded by B ({journal.Started(b.Id).Count} ran on B) and C ({journal.Started(c.Id).Count} ran on C).");
    }

    [Fact]
    public async Task Terminate_stops_a_sleeping_task_and_one_deaf_to_its_token_and_both_end_revoked_within_a_second()
    {
        var worker = StartWorker("worker", "w.%h");
        var sleeping = await _sandbox.App.Client.SendTaskAsync("test.sleep", [120_000]);
        var deaf = await _sandbox.App.Client.SendTaskAsync("test.slow", [1, 120_000]);
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Started(worker.Id).Count >= 2,
            () => $"both tasks to start.\n{worker.Describe()}", TimeSpan.FromSeconds(60));

        var clock = Stopwatch.StartNew();
        await _sandbox.App.Client.GetResult(sleeping.Id).RevokeAsync(terminate: true);
        await _sandbox.App.Client.RevokeAsync([deaf.Id], terminate: true);
        var elapsed = new List<TimeSpan>();
        foreach (var handle in new[] { sleeping, deaf })
        {
            var result = await WaitAsync(handle);
            elapsed.Add(clock.Elapsed);
            Assert.True(result.State == TaskState.Revoked, $"Task {handle.Id} ended {result.State.ToWire()}.\n{worker.Describe()}");
            Assert.Equal("terminated", result.Result?["exc_message"]?[0]?.GetValue<string>());
        }
        _output.WriteLine($"REVOKED after {string.Join(" and ", elapsed.Select(e => $"{e.TotalMilliseconds:0} ms"))} from the revoke call.");
        // The acceptance is "within a second"; checked with a generous margin (2.5 s) for a loaded 2-core test machine.
        Assert.True(elapsed[^1] < TimeSpan.FromSeconds(2.5), $"The tasks ended REVOKED only {elapsed[^1].TotalMilliseconds:0} ms after the revoke.");

        // The worker goes on: a new task runs.
        var next = await _sandbox.App.Client.SendTaskAsync("core.echo", [7]);
        Assert.Equal(TaskState.Success, (await WaitAsync(next)).State);
        Assert.False(worker.HasExited, worker.Describe());
    }

    private ChildProcess StartWorker(string name, string nodeName) =>
        _sandbox.StartTestApp(name, ["worker", "-Q", "celery", "-n", nodeName, "-c", "4", "-l", "info"]);

    private async Task<TaskResult> WaitAsync(AsyncResult handle)
    {
        try
        {
            return await handle.WaitAsync(AllDone);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\n{_sandbox.DescribeProcesses()}", ex);
        }
    }
}

/// <summary>Revokes on a SQLite file of the test's own.</summary>
public sealed class SqliteRevokeTests(ITestOutputHelper output) : RevokeTests(output, new IntegrationSandbox());

/// <summary>Revokes on Redis (database 3 of the shared test server, emptied first).</summary>
public sealed class RedisRevokeTests(ITestOutputHelper output) : RevokeTests(output, new IntegrationSandbox(Url))
{
    private static readonly string Url = Fennel.Testing.Servers.RedisTestServer.Url(3);

    public override async Task InitializeAsync() => await RedisBroker.FlushAsync(Url);
}

/// <summary>Revokes on RabbitMQ (the vhost <c>integration</c> of the run's node, emptied first): the stream <c>fennel.revokes</c>.</summary>
public sealed class RabbitMQRevokeTests(ITestOutputHelper output) : RevokeTests(output, new IntegrationSandbox(RabbitMQBroker.Url))
{
    public override async Task InitializeAsync() => await RabbitMQBroker.ResetAsync();
}
