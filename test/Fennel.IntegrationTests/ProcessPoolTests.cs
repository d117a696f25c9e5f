using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.IntegrationTests;

/// <summary>
/// The process pool (<c>-P process</c>) with real child processes of the test app, on each broker
/// (<see cref="SqliteProcessPoolTests"/>, <see cref="RedisProcessPoolTests"/>, <see cref="RabbitMQProcessPoolTests"/>): recycling by memory and by task count,
/// children lost mid-task, hard time limits, kill -9 of the worker, warm shutdown.
/// </summary>
public abstract class ProcessPoolTests : IAsyncLifetime
{
    private static readonly TimeSpan Done = TimeSpan.FromSeconds(180);
    private readonly ITestOutputHelper _output;
    private readonly IntegrationSandbox _sandbox;

    private protected ProcessPoolTests(ITestOutputHelper output, IntegrationSandbox sandbox)
    {
        _output = output;
        _sandbox = sandbox;
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Max_memory_per_child_replaces_a_leaking_child_and_the_worker_stays_within_bounds()
    {
        const int runs = 200, leakMb = 50, limitKib = 250 * 1024;
        // Without recycling each of the two children would hold about runs / 2 × 50 MB = 5 GB; with it, at most about
        // limit + one leak each, plus the parent and a replacement starting.
        const long boundBytes = 1200L * 1024 * 1024;
        var worker = StartWorker("-c", "2", "--max-memory-per-child", limitKib.ToString(CultureInfo.InvariantCulture));
        var handles = await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(0, runs).Select(_ => new TaskCall("test.leak", [leakMb]))]);

        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested && !worker.HasExited)
            {
                peak = Math.Max(peak, ProcessTree.TreeResidentBytes(worker.Id));
                if (peak > boundBytes) return; // fail now, before the machine runs out of memory
                await Task.Delay(50);
            }
        });
        var pids = new List<int>();
        foreach (var handle in handles)
        {
            var waiting = handle.WaitAsync(Done);
            await Task.WhenAny(waiting, sampler);
            Assert.True(peak <= boundBytes, $"The worker and its children reached {peak / 1048576} MiB resident, over {boundBytes / 1048576} MiB.\n{worker.Describe()}");
            var result = await waiting;
            Assert.True(result.State == TaskState.Success, $"test.leak ended {result.State.ToWire()}: {result.Exception}.\n{worker.Describe()}");
            pids.Add(result.Result!.GetValue<int>());
        }
        await sampling.CancelAsync();
        await sampler;

        var distinct = pids.Distinct().Count();
        _output.WriteLine($"{runs} runs leaking {leakMb} MB each: {distinct} children, peak {peak / 1048576} MiB resident for the worker and its children.");
        Assert.DoesNotContain(worker.Id, pids);
        // 250 MiB allows at most five 50 MB leaks per child: 200 runs need at least 40 children.
        Assert.True(distinct >= runs * leakMb / (limitKib / 1024 + leakMb), $"Only {distinct} children ran {runs} leaking tasks.\n{worker.Describe()}");
        Assert.Contains(worker.StderrLines, l => l.Contains("max memory per child exceeded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Max_tasks_per_child_replaces_each_child_after_ten_tasks()
    {
        var logs = Path.Combine(_sandbox.Folder, "logs");
        Directory.CreateDirectory(logs);
        var worker = StartWorker("-c", "2", "--max-tasks-per-child", "10", "--logfile", Path.Combine(logs, "w%I.log"));
        var handles = await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(0, 100).Select(i => new TaskCall("test.pid", [i]))]);
        var pids = new List<int>();
        foreach (var handle in handles)
        {
            var result = await handle.WaitAsync(Done);
            Assert.True(result.State == TaskState.Success, $"test.pid ended {result.State.ToWire()}: {result.Exception}.\n{worker.Describe()}");
            pids.Add(result.Result!.GetValue<int>());
        }
        // Celery's %I: the worker logs to w.log, its children to w-1.log and w-2.log; replacements reuse the index.
        Assert.Equal(["w-1.log", "w-2.log", "w.log"], Directory.GetFiles(logs).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var perChild = pids.GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        _output.WriteLine($"100 tasks ran in {perChild.Count} children: {string.Join(", ", perChild.Select(p => $"{p.Key}×{p.Value}"))}.");
        Assert.DoesNotContain(worker.Id, pids);
        Assert.True(perChild.Count >= 10, $"100 tasks ran in only {perChild.Count} children.\n{worker.Describe()}");
        Assert.True(perChild.Values.All(n => n <= 10), $"A child ran more than 10 tasks: {string.Join(", ", perChild.Values)}.");
    }

    [Fact]
    public async Task A_task_that_kills_its_child_is_dead_lettered_after_the_delivery_limit_while_other_tasks_flow()
    {
        var worker = StartWorker(new Dictionary<string, string> { ["FENNEL_WORKER__MAXDELIVERIES"] = "3" }, "-c", "2");
        var poison = await _sandbox.App.Client.SendTaskAsync("test.failfast", [1]);
        var others = await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(0, 40).Select(i => new TaskCall("test.pid", [i]))]);

        foreach (var handle in others)
        {
            var result = await handle.WaitAsync(Done);
            Assert.True(result.State == TaskState.Success, $"test.pid ended {result.State.ToWire()}: {result.Exception}.\n{worker.Describe()}");
        }
        var failed = await poison.WaitAsync(Done);
        Assert.True(failed.State == TaskState.Failure && failed.Exception?.Type == "WorkerLostError",
            $"test.failfast ended {failed.State.ToWire()} with {failed.Exception}.\n{worker.Describe()}");

        var store = Assert.IsAssignableFrom<IDeadLetterStore>(_sandbox.App.Transport);
        IReadOnlyList<DeadLetter> letters = [];
        await Eventually.HoldsAsync(async () => (letters = await store.ListDeadLettersAsync()).Count > 0,
            () => $"a dead letter.\n{worker.Describe()}", TimeSpan.FromSeconds(30));
        var letter = Assert.Single(letters);
        Assert.Contains(poison.Id, letter.Reason, StringComparison.Ordinal);
        Assert.Contains("lost", letter.Reason, StringComparison.Ordinal);
        Assert.Contains("SIGABRT", letter.Reason, StringComparison.Ordinal);
        var runs = _sandbox.ReadJournal().Entries.Count(e => e.Kind == "start" && e.TaskId == poison.Id);
        Assert.True(runs == 3, $"test.failfast started {runs} times; the delivery limit is 3.\n{worker.Describe()}");

        var after = await _sandbox.App.Client.SendTaskAsync("test.pid", [99]);
        Assert.Equal(TaskState.Success, (await after.WaitAsync(Done)).State);
        Assert.False(worker.HasExited, $"The worker exited.\n{worker.Describe()}");
        Assert.Equal(2, ProcessTree.ChildrenOf(worker.Id).Count);
    }

    [Fact]
    public async Task Hard_time_limit_kills_a_spinning_child_and_the_pool_keeps_its_concurrency()
    {
        var worker = StartWorker("-c", "2");
        var limit = new CallOptions { TimeLimit = TimeSpan.FromSeconds(2) };
        var sent = DateTimeOffset.UtcNow;
        var spins = new[]
        {
            await _sandbox.App.Client.SendTaskAsync("test.spin", [1], null, limit),
            await _sandbox.App.Client.SendTaskAsync("test.spin", [2], null, limit),
        };
        foreach (var spin in spins)
        {
            var result = await spin.WaitAsync(Done);
            Assert.True(result.State == TaskState.Failure && result.Exception?.Type == "TimeLimitExceeded",
                $"test.spin ended {result.State.ToWire()} with {result.Exception}.\n{worker.Describe()}");
            Assert.True(result.DateDone >= sent + TimeSpan.FromSeconds(2), $"test.spin ended at {result.DateDone:o}, before its 2 s limit from {sent:o}.");
        }
        // The children that spun were killed, not left running in the background.
        var spinners = _sandbox.ReadJournal().Entries.Where(e => e.Kind == "start" && spins.Any(s => s.Id == e.TaskId)).Select(e => e.Pid).ToList();
        Assert.Equal(2, spinners.Count);
        await Eventually.HoldsAsync(() => !spinners.Any(ProcessTree.IsAlive),
            () => $"the spinning children {string.Join(", ", spinners)} to be gone.\n{worker.Describe()}", TimeSpan.FromSeconds(10));
        // The pool logs the reason when it sees the child exit, which may come a moment after the process is gone.
        await Eventually.HoldsAsync(() => worker.StderrLines.Any(l => l.Contains("killed at the hard time limit", StringComparison.Ordinal)), () => $"the worker to log a child killed at the hard time limit.\n{worker.Describe()}",
            TimeSpan.FromSeconds(10));

        // Full concurrency again: two tasks that sleep until the same moment both start before it.
        var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(8);
        var sleepers = await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(0, 2).Select(_ => new TaskCall("test.sleep_until", [until.ToUnixTimeMilliseconds()]))]);
        foreach (var sleeper in sleepers)
        {
            var result = await sleeper.WaitAsync(Done);
            Assert.True(result.State == TaskState.Success, $"test.sleep_until ended {result.State.ToWire()}: {result.Exception}.\n{worker.Describe()}");
            var started = DateTimeOffset.FromUnixTimeMilliseconds(result.Result!["started"]!.GetValue<long>());
            Assert.True(started < until, $"A sleeper started at {started:o}, after the other one's end at {until:o}: the pool lost a child.\n{worker.Describe()}");
        }
    }

    [Fact]
    public async Task Soft_time_limit_fires_the_token_inside_the_child()
    {
        var worker = StartWorker("-c", "1");
        var soft = await _sandbox.App.Client.SendTaskAsync("test.soft", [60_000], null, new CallOptions { SoftTimeLimit = TimeSpan.FromSeconds(1) });
        var result = await soft.WaitAsync(Done);
        Assert.True(result.State == TaskState.Success && result.Result?.GetValue<bool>() == true,
            $"test.soft ended {result.State.ToWire()} with {result.Result?.ToJsonString()} {result.Exception}.\n{worker.Describe()}");
        var pid = _sandbox.ReadJournal().Entries.Single(e => e.TaskId == soft.Id && e.Kind == "end").Pid;
        Assert.NotEqual(worker.Id, pid);
        Assert.True(ProcessTree.IsAlive(pid), "The child was replaced after a soft limit; only the hard limit kills it.");
    }

    [Fact]
    public async Task Kill_nine_of_the_worker_leaves_no_child_processes()
    {
        var worker = StartWorker("-c", "3");
        // Children busy spinning on the CPU: they must go all the same.
        foreach (var i in Enumerable.Range(0, 3)) await _sandbox.App.Client.SendTaskAsync("test.spin", [i]);
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Entries.Count(e => e.Kind == "start") >= 3,
            () => $"three spinning tasks to start.\n{worker.Describe()}", TimeSpan.FromSeconds(60));
        var children = ProcessTree.ChildrenOf(worker.Id);
        Assert.True(children.Count == 3, $"The worker has {children.Count} children, not 3: {string.Join(", ", children)}.\n{worker.Describe()}");

        worker.Signal(ChildProcess.SigKill);
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => !children.Any(ProcessTree.IsAlive),
            () => $"the children {string.Join(", ", children.Where(ProcessTree.IsAlive))} of the killed worker are still alive.", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Sigterm_lets_tasks_running_in_children_finish_and_loses_nothing()
    {
        const int count = 40;
        var handles = await _sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(0, count).Select(i => new TaskCall("test.slow", [i, 1000]))]);
        var a = StartWorker("-c", "4", "-n", "a.%h");
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Entries.Count(e => e.Kind == "start") >= 4,
            () => $"four tasks to start.\n{a.Describe()}", TimeSpan.FromSeconds(60));
        var children = ProcessTree.ChildrenOf(a.Id);
        Assert.True(children.Count == 4, $"Worker A has {children.Count} children, not 4.\n{a.Describe()}");

        // As Supervisor's stopasgroup or Ctrl+C would: the children get the signals too, and must leave it to the worker.
        foreach (var child in children)
        {
            foreach (var signal in new[] { 15, 2, 3 }) ProcessTree.Signal(child, signal);
        }
        a.Signal(ChildProcess.SigTerm);
        var exitCode = await a.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0, $"Worker A exited with {exitCode} after SIGTERM, not 0.\n{a.Describe()}");
        Assert.False(children.Any(ProcessTree.IsAlive), "Children of worker A outlived it.");
        var journal = _sandbox.ReadJournal();
        var started = journal.Entries.Where(e => e.Kind == "start").Select(e => e.TaskId).ToHashSet();
        var ended = journal.Entries.Where(e => e.Kind == "end").Select(e => e.TaskId).ToHashSet();
        Assert.True(started.SetEquals(ended), $"Worker A's children started {started.Count} tasks but finished {ended.Count}.\n{a.Describe()}");
        var waiting = await _sandbox.App.Transport.GetQueueLengthAsync("celery");
        Assert.True(waiting == count - ended.Count, $"{waiting} messages wait; {count} sent - {ended.Count} run = {count - ended.Count} should.\n{a.Describe()}");

        var b = StartWorker("-c", "4", "-n", "b.%h");
        await KillNineScenario.WaitForSlowTasksAsync(_sandbox, handles, Done);
        var starts = _sandbox.ReadJournal().StartCounts();
        Assert.True(starts.Count == count && starts.Values.All(n => n == 1),
            $"Every task must start exactly once: {starts.Count} started, {starts.Count(s => s.Value > 1)} more than once.\n{b.Describe()}");
        _output.WriteLine($"SIGTERM: worker A ran {ended.Count} in its children and returned {waiting}; worker B ran the rest.");
    }

    private ChildProcess StartWorker(params string[] options) => StartWorker(null, options);

    private ChildProcess StartWorker(IReadOnlyDictionary<string, string>? environment, params string[] options) =>
        _sandbox.StartTestApp("worker", ["worker", "-Q", "celery", "-P", "process", "-l", "info", .. options], environment);
}

/// <summary>The process pool on a SQLite file of the test's own.</summary>
public sealed class SqliteProcessPoolTests(ITestOutputHelper output) : ProcessPoolTests(output, new IntegrationSandbox());

/// <summary>The process pool on Redis (database 3 of the shared test server, emptied first).</summary>
public sealed class RedisProcessPoolTests(ITestOutputHelper output) : ProcessPoolTests(output, new IntegrationSandbox(Url))
{
    private static readonly string Url = Fennel.Testing.Servers.RedisTestServer.Url(3);

    public override async Task InitializeAsync() => await RedisBroker.FlushAsync(Url);
}

/// <summary>The process pool on RabbitMQ (the vhost <c>integration</c> of the run's node, emptied first).</summary>
public sealed class RabbitMQProcessPoolTests(ITestOutputHelper output) : ProcessPoolTests(output, new IntegrationSandbox(RabbitMQBroker.Url))
{
    public override async Task InitializeAsync() => await RabbitMQBroker.ResetAsync();
}
