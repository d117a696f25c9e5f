using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Redis;
using Fennel.Results;
using Fennel.Testing.Servers;
using Fennel.Transport;

namespace Fennel.IntegrationTests;

/// <summary>
/// Worker processes on Redis losing their lives, their leases and their server: nothing is lost, nothing live runs twice.
/// Uses database 3 of the shared test server (flushed per test), and for the restart test a redis-server of its own.
/// </summary>
public sealed class RedisReliabilityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string Url = RedisTestServer.Url(3);
    private readonly IntegrationSandbox _sandbox = new(Url);

    public async Task InitializeAsync() => await RedisBroker.FlushAsync(Url);

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public Task Kill_9_with_1000_queued_and_50_running_loses_nothing_and_duplicates_only_running_tasks()
    {
        var lease = new Dictionary<string, string> { ["FENNEL_WORKER__LEASEDURATION"] = "00:00:03" };
        return KillNineScenario.RunAsync(_sandbox, (name, node, concurrency) => StartWorker(name, node, concurrency, lease), output);
    }

    [Fact]
    public async Task A_task_running_three_times_the_visibility_timeout_runs_once_while_its_lease_is_renewed()
    {
        // Visibility timeout and lease 2 s; the task takes 6.5 s. Worker B waits on the same queue the whole time.
        var url = Url + "?visibility_timeout=2";
        var environment = new Dictionary<string, string> { ["FENNEL_BROKER_URL"] = url, ["FENNEL_WORKER__LEASEDURATION"] = "00:00:02" };
        var a = StartWorker("worker A", "a.%h", 4, environment);
        var handle = await _sandbox.App.Client.SendTaskAsync("test.slow", [1, 6500]);
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Started(a.Id).Count == 1, () => a.Describe(), TimeSpan.FromSeconds(30));
        var b = StartWorker("worker B", "b.%h", 4, environment);

        var result = await handle.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(TaskState.Success, result.State);
        var starts = _sandbox.ReadJournal().StartCounts();
        output.WriteLine($"renewed: started {starts[handle.Id]} time(s); B started {_sandbox.ReadJournal().Started(b.Id).Count}.");
        Assert.Equal(1, starts[handle.Id]);
    }

    [Fact]
    public async Task Control_without_renewal_the_same_task_is_delivered_twice()
    {
        // The control for the test above: a consumer that holds the task without renewing its lease loses it to worker B
        // after the visibility timeout, while it still "runs" — the duplicate renewal prevents.
        var url = Url + "?visibility_timeout=2";
        await using var holder = new RedisTransport(RedisOptions.Parse(url));
        var handle = await _sandbox.App.Client.SendTaskAsync("test.slow", [1, 100]);
        var held = Assert.Single(await holder.FetchAsync(["celery"], 1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10)));

        var b = StartWorker("worker B", "b.%h", 4, new Dictionary<string, string> { ["FENNEL_BROKER_URL"] = url });
        await handle.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Contains(handle.Id, _sandbox.ReadJournal().Started(b.Id));
        Assert.Equal(1, held.DeliveryCount);
        output.WriteLine("without renewal: worker B ran the task the first consumer still held.");
    }

    [Fact]
    public async Task Redis_restarted_mid_run_loses_no_confirmed_task()
    {
        await using var server = await PrivateRedis.StartAsync(appendOnly: true);
        var url = server.Url + "/0";
        await using var app = FennelApp.CreateBuilder(["-b", url, "-l", "warning"]).Build();
        var worker = StartWorker("worker", "w.%h", 8, new Dictionary<string, string> { ["FENNEL_BROKER_URL"] = url });
        var confirmed = new List<AsyncResult>();
        var failed = 0;
        var restart = Task.Run(async () =>
        {
            await Task.Delay(1500);
            await server.RestartAsync(TimeSpan.FromSeconds(2));
        });

        var sending = DateTime.UtcNow;
        for (var i = 0; DateTime.UtcNow - sending < TimeSpan.FromSeconds(7); i++)
        {
            try
            {
                confirmed.Add(await app.Client.SendTaskAsync("test.slow", [i, 5]));
            }
            catch (BrokerException)
            {
                failed++;
                await Task.Delay(50);
            }
        }
        await restart;

        foreach (var handle in confirmed)
        {
            var result = await handle.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(TaskState.Success, result.State);
        }
        output.WriteLine($"restart: {confirmed.Count} sends confirmed, {failed} refused during the outage; every confirmed task succeeded.");
        Assert.True(confirmed.Count > 0);
        Assert.False(worker.HasExited, worker.Describe());
    }

    private ChildProcess StartWorker(string name, string nodeName, int concurrency, IReadOnlyDictionary<string, string>? environment = null) =>
        _sandbox.StartTestApp(name, ["worker", "-Q", "celery", "-n", nodeName, "-c", concurrency.ToString(CultureInfo.InvariantCulture), "-l", "warning"],
            environment);
}
