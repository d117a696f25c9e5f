using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Results;

namespace Fennel.IntegrationTests;

/// <summary>
/// Stopping a worker process with 500 slow tasks queued: warm (SIGTERM) and by crash (SIGKILL), on each broker
/// (<see cref="SqliteShutdownTests"/>, <see cref="RedisShutdownTests"/>,
/// <see cref="RabbitMQShutdownTests"/>).
/// </summary>
public abstract class ShutdownTests : IAsyncLifetime
{
    private const int TaskCount = 500;
    private const int TaskMilliseconds = 50;
    private const int Concurrency = 4;
    private static readonly TimeSpan AllDone = TimeSpan.FromSeconds(90);

    private readonly ITestOutputHelper _output;
    private readonly IntegrationSandbox _sandbox;

    private protected ShutdownTests(ITestOutputHelper output, IntegrationSandbox sandbox)
    {
        _output = output;
        _sandbox = sandbox;
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Sigterm_finishes_running_tasks_returns_the_rest_and_a_restarted_worker_takes_them()
    {
        var handles = await SendSlowTasksAsync();
        var a = StartWorker("worker A", "a.%h");
        await WaitForStartsAsync(a, 8);

        a.Signal(ChildProcess.SigTerm);
        var exitCode = await a.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, $"Worker A exited with {exitCode} after SIGTERM, not 0.\n{a.Describe()}");

        var journal = _sandbox.ReadJournal();
        var startedByA = journal.Started(a.Id);
        var endedByA = journal.Ended(a.Id);
        var unfinished = startedByA.Except(endedByA).ToList();
        Assert.True(unfinished.Count == 0, $"Worker A started {startedByA.Count} tasks but did not finish {unfinished.Count} of them: " +
            $"{string.Join(", ", unfinished.Take(10))}.\n{a.Describe()}");

        // Every task A did not run went back to the queue at once: waiting, not leased (no lease has lapsed yet).
        var waiting = await _sandbox.App.Transport.GetQueueLengthAsync("celery");
        Assert.True(waiting > 0, $"Nothing is left in the queue after A ran {endedByA.Count} tasks.");
        Assert.True(waiting == TaskCount - endedByA.Count,
            $"{waiting} messages wait in the queue; {TaskCount} sent - {endedByA.Count} run by A = {TaskCount - endedByA.Count} should.\n{a.Describe()}");

        var b = StartWorker("worker B", "b.%h");
        await WaitForAllSucceededAsync(handles);

        journal = _sandbox.ReadJournal();
        var starts = journal.StartCounts();
        var twice = starts.Where(s => s.Value != 1).Select(s => $"{s.Key} ×{s.Value}").ToList();
        var lost = handles.Select(h => h.Id).Where(id => !starts.ContainsKey(id)).ToList();
        var startedByB = journal.Started(b.Id);
        _output.WriteLine($"SIGTERM: worker A ran {startedByA.Count}, returned {waiting}; worker B ran {startedByB.Count}; " +
            $"run twice: {twice.Count}; never run: {lost.Count}.");
        Assert.True(twice.Count == 0, $"{twice.Count} tasks did not start exactly once: {string.Join(", ", twice.Take(10))}.");
        Assert.True(lost.Count == 0, $"{lost.Count} tasks never started: {string.Join(", ", lost.Take(10))}.");
        Assert.Equal(TaskCount - startedByA.Count, startedByB.Count);
    }

    [Fact]
    public async Task Sigkill_loses_nothing_after_the_lease_lapses_and_duplicates_only_running_tasks()
    {
        var shortLease = new Dictionary<string, string> { ["FENNEL_WORKER__LEASEDURATION"] = "00:00:03" };
        var handles = await SendSlowTasksAsync();
        var a = StartWorker("worker A", "a.%h", shortLease);
        await WaitForStartsAsync(a, 20);

        a.Signal(ChildProcess.SigKill);
        await a.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var journal = _sandbox.ReadJournal();
        var startedByA = journal.Started(a.Id);
        var endedByA = journal.Ended(a.Id);
        // What A never acknowledged is still in the file, its own leased messages included: all of it must run again.
        var unacknowledged = await _sandbox.ReadUnacknowledgedTaskIdsAsync();

        var b = StartWorker("worker B", "b.%h", shortLease);
        await WaitForAllSucceededAsync(handles);

        journal = _sandbox.ReadJournal();
        var starts = journal.StartCounts();
        var startedByB = journal.Started(b.Id);
        var lost = handles.Select(h => h.Id).Where(id => !starts.ContainsKey(id)).ToList();
        var duplicates = starts.Where(s => s.Value > 1).Select(s => s.Key).ToList();
        var runningWhenKilled = startedByA.Except(endedByA).ToList();
        var finishedNotAcknowledged = duplicates.Count(endedByA.Contains);
        _output.WriteLine($"SIGKILL: worker A started {startedByA.Count} ({runningWhenKilled.Count} still running when killed), left " +
            $"{unacknowledged.Count} unacknowledged; worker B ran {startedByB.Count}; duplicates: {duplicates.Count} " +
            $"({finishedNotAcknowledged} of them had finished on A but were not yet acknowledged); lost: {lost.Count}.");

        Assert.True(lost.Count == 0, $"{lost.Count} tasks never started: {string.Join(", ", lost.Take(10))}.");
        var badDuplicates = duplicates.Where(id => !startedByA.Contains(id) || !unacknowledged.Contains(id) || starts[id] != 2).ToList();
        Assert.True(badDuplicates.Count == 0, $"These tasks ran more than once though A had not been running them unacknowledged " +
            $"when it died: {string.Join(", ", badDuplicates.Select(id => $"{id} ×{starts[id]}"))}.");
        Assert.True(duplicates.Count <= Concurrency, $"{duplicates.Count} duplicates; a worker running {Concurrency} at once can leave at most {Concurrency}.");
        var acknowledgedButRerun = startedByB.Except(unacknowledged).ToList();
        var unacknowledgedNotRun = unacknowledged.Except(startedByB).ToList();
        Assert.True(acknowledgedButRerun.Count == 0 && unacknowledgedNotRun.Count == 0,
            $"B must run exactly what A left unacknowledged: {acknowledgedButRerun.Count} acknowledged tasks ran again, " +
            $"{unacknowledgedNotRun.Count} unacknowledged ones did not run on B.");
    }

    private async Task<IReadOnlyList<AsyncResult>> SendSlowTasksAsync() =>
        await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(0, TaskCount).Select(i => new TaskCall("test.slow", [i, TaskMilliseconds]))]);

    private ChildProcess StartWorker(string name, string nodeName, IReadOnlyDictionary<string, string>? environment = null) =>
        _sandbox.StartTestApp(name, ["worker", "-Q", "celery", "-n", nodeName, "-c", Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture), "-l", "warning"], environment);

    private async Task WaitForStartsAsync(ChildProcess worker, int count) =>
        await Eventually.HoldsAsync(() => !worker.HasExited && _sandbox.ReadJournal().Started(worker.Id).Count >= count,
            () => $"{worker.Name} to start {count} tasks (journal: {_sandbox.ReadJournal().Started(worker.Id).Count}).\n{worker.Describe()}", TimeSpan.FromSeconds(60));

    private Task WaitForAllSucceededAsync(IReadOnlyList<AsyncResult> handles) => SlowTasks.WaitAllSucceededAsync(handles, AllDone, _sandbox.DescribeProcesses);
}

/// <summary>Shutdown on a SQLite file of the test's own.</summary>
public sealed class SqliteShutdownTests(ITestOutputHelper output) : ShutdownTests(output, new IntegrationSandbox());

/// <summary>Shutdown on Redis (database 3 of the shared test server, emptied first).</summary>
public sealed class RedisShutdownTests(ITestOutputHelper output) : ShutdownTests(output, new IntegrationSandbox(Url))
{
    private static readonly string Url = Fennel.Testing.Servers.RedisTestServer.Url(3);

    public override async Task InitializeAsync() => await RedisBroker.FlushAsync(Url);
}

/// <summary>
/// Shutdown on RabbitMQ (the vhost <c>integration</c> of the run's node, emptied first): a SIGKILLed worker's connection
/// closes and the broker takes its unacknowledged messages back at once, without waiting for a lease.
/// </summary>
public sealed class RabbitMQShutdownTests(ITestOutputHelper output) : ShutdownTests(output, new IntegrationSandbox(RabbitMQBroker.Url))
{
    public override async Task InitializeAsync() => await RabbitMQBroker.ResetAsync();
}
