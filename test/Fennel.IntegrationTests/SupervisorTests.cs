using System.Diagnostics;
using System.Net.Http;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Results;
using Fennel.Tasks;

namespace Fennel.IntegrationTests;

/// <summary>
/// The seed's deployment under a real Supervisor (<see cref="Supervisord"/>): two workers, <c>customers</c> and
/// <c>default</c>, with autorestart, startsecs=10, stopwaitsecs=60, stopasgroup and killasgroup. A worker killed with
/// SIGKILL is restarted and nothing is lost; <c>supervisorctl stop</c> is a warm shutdown that exits 0 in time.
/// On SQLite (<see cref="SqliteSupervisorTests"/>) and Redis (<see cref="RedisSupervisorTests"/>).
/// </summary>
public abstract class SupervisorTests : IAsyncLifetime
{
    private const int TasksPerQueue = 48;
    private static readonly TimeSpan Started = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan AllDone = TimeSpan.FromSeconds(120);

    // A short lease, so the messages of a killed worker come back in seconds rather than the default 30.
    private static readonly Dictionary<string, string> WorkerEnvironment = new(StringComparer.Ordinal)
    {
        ["FENNEL_WORKER__LEASEDURATION"] = "00:00:05",
    };

    private readonly ITestOutputHelper _output;
    private readonly IntegrationSandbox _sandbox;
    private Supervisord? _supervisord;

    private protected SupervisorTests(ITestOutputHelper output, IntegrationSandbox sandbox)
    {
        _output = output;
        _sandbox = sandbox;
    }

    private Supervisord Supervisor => _supervisord ?? throw new InvalidOperationException("supervisord was not started.");

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_supervisord is not null) await _supervisord.DisposeAsync();
        await _sandbox.DisposeAsync();
    }

    [Fact]
    public async Task A_worker_killed_with_SIGKILL_is_restarted_by_supervisor_and_every_task_completes()
    {
        var clock = Stopwatch.StartNew();
        await StartSupervisordAsync();
        var handles = await SendSlowTasksAsync(milliseconds: 1000);
        var killed = await Supervisor.PidAsync("customers");
        Assert.Equal($"{killed}\n", await File.ReadAllTextAsync(Supervisor.PidFilePath("customers"))); // --pidfile
        await WaitForStartsAsync(killed, Supervisord.Concurrency);

        using (var victim = Process.GetProcessById(killed)) victim.Kill(); // SIGKILL, as kill -9
        var restarted = 0;
        await Eventually.HoldsAsync(async () => (restarted = await Supervisor.PidAsync("customers")) is not 0 && restarted != killed,
            () => $"Supervisor to restart customers after SIGKILL of {killed}.\n{Supervisor.Describe()}", Started);
        await WaitForAllSucceededAsync(handles);

        var journal = _sandbox.ReadJournal();
        var starts = journal.StartCounts();
        var lost = handles.Select(h => h.Id).Where(id => !starts.ContainsKey(id)).ToList();
        var duplicates = starts.Where(s => s.Value > 1).Select(s => s.Key).ToList();
        var startedByKilled = journal.Started(killed);
        var runningWhenKilled = startedByKilled.Except(journal.Ended(killed)).ToList();
        _output.WriteLine($"kill -9 customers ({killed}): it started {startedByKilled.Count} ({runningWhenKilled.Count} running when killed); " +
            $"restarted as {restarted}; duplicates {duplicates.Count}; lost {lost.Count}; {clock.Elapsed.TotalSeconds:0.0} s in all.");

        Assert.True(lost.Count == 0, $"{lost.Count} tasks never ran: {string.Join(", ", lost.Take(10))}.");
        var badDuplicates = duplicates.Where(id => !startedByKilled.Contains(id) || starts[id] != 2).ToList();
        Assert.True(badDuplicates.Count == 0, $"These tasks ran again though the killed worker was not running them: {string.Join(", ", badDuplicates)}.");
        Assert.True(duplicates.Count <= Supervisord.Concurrency, $"{duplicates.Count} duplicates; at most {Supervisord.Concurrency} tasks were running.");
        var log = Supervisor.ReadLog();
        Assert.Contains("exited: customers (terminated by SIGKILL; not expected)", log, StringComparison.Ordinal);
        // The restarted worker replaced the stale pid file, and answers its liveness probe on the same port.
        await Eventually.HoldsAsync(async () => File.Exists(Supervisor.PidFilePath("customers"))
                && await File.ReadAllTextAsync(Supervisor.PidFilePath("customers")) == $"{restarted}\n",
            () => $"customers.pid to name {restarted}.\n{Supervisor.Describe()}", Started);
        var health = await GetHealthAsync();
        Assert.True(health.Status == 200 && (string?)health.Body["status"] == "ok" && (int?)health.Body["pid"] == restarted,
            $"GET /healthz answered {health.Status} {health.Body.ToJsonString()}.");
        // --logfile with %p%I: one file per full node name (-n customers.%h is celery@customers.<host>, as in Celery), no
        // index in the main process.
        var host = Fennel.Worker.NodeNames.FullHostName();
        Assert.Contains($"celery@customers.{host} ready", await File.ReadAllTextAsync(Path.Combine(_sandbox.Folder, $"celery@customers.{host}.log")), StringComparison.Ordinal);
        Assert.Contains($"celery@{host} ready", await File.ReadAllTextAsync(Path.Combine(_sandbox.Folder, $"celery@{host}.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Supervisorctl_stop_is_a_warm_shutdown_that_exits_0_within_stopwaitsecs_and_loses_nothing()
    {
        var clock = Stopwatch.StartNew();
        await StartSupervisordAsync();
        var handles = await SendSlowTasksAsync(milliseconds: 2000);
        var stopped = await Supervisor.PidAsync("default");
        await WaitForStartsAsync(stopped, Supervisord.Concurrency);

        var stopping = Stopwatch.StartNew();
        var (stopExit, stopOutput) = await Supervisor.CtlAsync("stop", "default");
        stopping.Stop();
        Assert.True(stopExit == 0 && stopOutput.Contains("default: stopped", StringComparison.Ordinal),
            $"supervisorctl stop default exited {stopExit}: {stopOutput}\n{Supervisor.Describe()}");
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(Supervisord.StopWaitSeconds),
            $"The warm shutdown took {stopping.Elapsed.TotalSeconds:0} s, not less than stopwaitsecs={Supervisord.StopWaitSeconds}.");
        Assert.Equal("STOPPED", await Supervisor.StateAsync("default"));
        Assert.Contains("stopped: default (exit status 0)", Supervisor.ReadLog(), StringComparison.Ordinal);
        Assert.False(File.Exists(Supervisor.PidFilePath("default")), "The pid file outlived the worker.");

        var journal = _sandbox.ReadJournal();
        var startedByStopped = journal.Started(stopped);
        var unfinished = startedByStopped.Except(journal.Ended(stopped)).ToList();
        Assert.True(unfinished.Count == 0, $"The stopped worker left {unfinished.Count} started tasks unfinished.\n{Supervisor.Describe()}");

        var (startExit, startOutput) = await Supervisor.CtlAsync("start", "default");
        Assert.True(startExit == 0, $"supervisorctl start default exited {startExit}: {startOutput}");
        await WaitForAllSucceededAsync(handles);
        var starts = _sandbox.ReadJournal().StartCounts();
        var twice = starts.Where(s => s.Value != 1).Select(s => $"{s.Key} ×{s.Value}").ToList();
        var lost = handles.Select(h => h.Id).Where(id => !starts.ContainsKey(id)).ToList();
        _output.WriteLine($"supervisorctl stop default took {stopping.Elapsed.TotalSeconds:0.0} s with {unfinished.Count} unfinished " +
            $"of {startedByStopped.Count} started; run twice {twice.Count}; lost {lost.Count}; {clock.Elapsed.TotalSeconds:0.0} s in all.");
        Assert.True(twice.Count == 0, $"A warm shutdown ran {twice.Count} tasks twice: {string.Join(", ", twice.Take(10))}.");
        Assert.True(lost.Count == 0, $"{lost.Count} tasks never ran: {string.Join(", ", lost.Take(10))}.");
    }

    private async Task StartSupervisordAsync()
    {
        _supervisord = Supervisord.Start(_sandbox, WorkerEnvironment);
        // startsecs=10: RUNNING means each worker stayed up 10 s.
        await Supervisor.WaitForStateAsync("customers", "RUNNING", Started);
        await Supervisor.WaitForStateAsync("default", "RUNNING", Started);
    }

    private async Task<IReadOnlyList<AsyncResult>> SendSlowTasksAsync(int milliseconds)
    {
        var customers = new CallOptions { Queue = "customers" };
        var calls = Enumerable.Range(0, TasksPerQueue * 2)
            .Select(i => new TaskCall("test.slow", [i, milliseconds], null, i % 2 == 0 ? customers : null));
        return await _sandbox.App.Client.SendBatchAsync([.. calls]);
    }

    private async Task WaitForStartsAsync(int pid, int count) =>
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Started(pid).Count >= count,
            () => $"worker {pid} to start {count} tasks (journal: {_sandbox.ReadJournal().Started(pid).Count}).\n{Supervisor.Describe()}", Started);

    private Task WaitForAllSucceededAsync(IReadOnlyList<AsyncResult> handles) => SlowTasks.WaitAllSucceededAsync(handles, AllDone, Supervisor.Describe);

    private async Task<(int Status, JsonNode Body)> GetHealthAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Supervisor.HealthPort}/healthz"));
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }
}

/// <summary>Supervisor with the workers on a SQLite file of the test's own.</summary>
public sealed class SqliteSupervisorTests(ITestOutputHelper output) : SupervisorTests(output, new IntegrationSandbox());

/// <summary>Supervisor with the workers on Redis (database 4 of the shared test server, emptied first).</summary>
public sealed class RedisSupervisorTests(ITestOutputHelper output) : SupervisorTests(output, new IntegrationSandbox(Url))
{
    private static readonly string Url = Fennel.Testing.Servers.RedisTestServer.Url(4);

    public override async Task InitializeAsync() => await RedisBroker.FlushAsync(Url);
}
