using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.IntegrationTests;

/// <summary>
/// Worker processes on RabbitMQ losing their lives, their broker and their patience: nothing confirmed is lost, nothing
/// live runs twice, a poison task ends in the dead letters, long tasks outlive consumer_timeout, ETA tasks wait in the
/// broker. Uses the vhost <c>integration</c> of the run's node (emptied per test); the node's consumer_timeout is 20 s.
/// </summary>
public sealed class RabbitMQReliabilityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Queue = "celery";

    // The transport's own lines (reconnects, hand-offs to lease queues) at Information; everything else at the -l level.
    private static readonly Dictionary<string, string> TransportInfo = new() { ["Logging__LogLevel__Fennel.RabbitMQ"] = "Information" };

    private readonly IntegrationSandbox _sandbox = new(RabbitMQBroker.Url);

    public async Task InitializeAsync() => await RabbitMQBroker.ResetAsync();

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public Task Kill_9_with_1000_queued_and_50_running_loses_nothing_and_duplicates_only_running_tasks() =>
        KillNineScenario.RunAsync(_sandbox, (name, node, concurrency) => StartWorker(name, node, concurrency), output);

    [Fact]
    public async Task Three_broker_restarts_during_10000_tasks_lose_no_confirmed_task_and_workers_reconnect_by_themselves()
    {
        const int count = 10_000, senders = 4;
        int[] restartAfter = [2000, 5000, 8000];
        var reconnectLimit = TimeSpan.FromSeconds(30);
        var a = StartWorker("worker A", "a.%h", 8);
        var b = StartWorker("worker B", "b.%h", 8);
        var client = _sandbox.App.Client;
        var confirmed = new string?[count];
        var confirmedCount = 0;
        var next = -1;
        var refused = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);

        // The client sends all the time, one task after another on each of 4 loops; a refused send is counted, with its
        // exception, and tried again (a new task id) after 100 ms.
        var clock = Stopwatch.StartNew();
        var sending = Task.WhenAll(Enumerable.Range(0, senders).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                while (true)
                {
                    try
                    {
                        confirmed[i] = (await client.SendTaskAsync("test.slow", [i, 1])).Id;
                        Interlocked.Increment(ref confirmedCount);
                        break;
                    }
                    catch (Exception e)
                    {
                        refused.AddOrUpdate($"{e.GetType().Name}: {e.Message.Split('\n')[0]}", 1, (_, n) => n + 1);
                        await Task.Delay(100);
                    }
                }
            }
        })));

        var restarts = new List<(DateTime Stopping, DateTime Stopped, DateTime Started)>();
        var reconnects = new List<string>();
        foreach (var (after, k) in restartAfter.Select((after, k) => (after, k + 1)))
        {
            await Eventually.HoldsAsync(() => Volatile.Read(ref confirmedCount) >= after,
                () => $"{after} sends confirmed; {confirmedCount} are.\n{_sandbox.DescribeProcesses()}", TimeSpan.FromSeconds(120));
            var restart = RabbitMQBroker.Restart();
            restarts.Add(restart);
            // Each worker logs "Reconnected to RabbitMQ" once per restart, by itself: nothing restarts it.
            foreach (var worker in new[] { a, b })
            {
                await Eventually.HoldsAsync(() => Reconnections(worker).Count >= k,
                    () => $"{worker.Name} to reconnect after restart {k} (broker back at {restart.Started:HH:mm:ss.fff}).\n{worker.Describe()}", reconnectLimit);
                var back = Reconnections(worker)[k - 1];
                Assert.True(back - restart.Started <= reconnectLimit, $"{worker.Name} reconnected {(back - restart.Started).TotalSeconds:0.0} s after restart {k}.");
                reconnects.Add($"restart {k}: {worker.Name} {(back - restart.Started).TotalSeconds:0.0} s after start_app returned " +
                    $"({(back - restart.Stopping).TotalSeconds:0.0} s after stop_app began)");
            }
        }
        await sending.WaitAsync(TimeSpan.FromSeconds(180));
        var sent = clock.Elapsed;

        // Every confirmed task must end; the journal says so (rpc:// results live in a reply queue a restart may take away).
        var ids = confirmed.Select(id => id!).ToList();
        JournalFile journal = new([]);
        var drained = Stopwatch.StartNew();
        List<string> missing = ids;
        await Eventually.HoldsAsync(() =>
        {
            journal = _sandbox.ReadJournal();
            var ended = journal.Entries.Where(e => e.Kind == "end").Select(e => e.TaskId).ToHashSet(StringComparer.Ordinal);
            missing = [.. ids.Where(id => !ended.Contains(id))];
            return missing.Count == 0;
        }, () => $"{missing.Count} confirmed tasks never ended: {string.Join(", ", missing.Take(10))}.\n{_sandbox.DescribeProcesses()}", TimeSpan.FromSeconds(120));

        var starts = journal.StartCounts();
        var confirmedIds = ids.ToHashSet(StringComparer.Ordinal);
        var duplicates = starts.Count(s => s.Value > 1 && confirmedIds.Contains(s.Key));
        var refusedButRan = starts.Keys.Count(id => !confirmedIds.Contains(id));
        output.WriteLine($"restarts: {count} sends confirmed in {sent.TotalSeconds:0.0} s, {refused.Values.Sum()} refused during " +
            $"{restarts.Count} outages (down {string.Join(", ", restarts.Select(r => $"{(r.Started - r.Stopping).TotalSeconds:0.0} s"))}); " +
            $"lost {missing.Count}; run twice {duplicates}; refused yet run {refusedButRan}; all ended {drained.Elapsed.TotalSeconds:0.0} s after the last send.");
        foreach (var line in reconnects) output.WriteLine(line);
        foreach (var (what, n) in refused.OrderByDescending(r => r.Value)) output.WriteLine($"refused ×{n}: {what}");
        Assert.False(a.HasExited || b.HasExited, _sandbox.DescribeProcesses());
        Assert.True(refused.Keys.All(k => k.StartsWith(nameof(BrokerException), StringComparison.Ordinal)),
            $"A refused send threw something else than a BrokerException: {string.Join(" | ", refused.Keys)}");
    }

    [Fact]
    public async Task A_task_that_kills_its_worker_is_dead_lettered_after_5_deliveries_while_other_tasks_keep_flowing()
    {
        const int limit = 5;
        var client = _sandbox.App.Client;
        var poison = await client.SendTaskAsync("test.crash", [0]);
        var ordinary = new ConcurrentQueue<AsyncResult>();
        using var stopSending = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            for (var i = 0; !stopSending.IsCancellationRequested; i++)
            {
                ordinary.Enqueue(await client.SendTaskAsync("test.sleep_until", [0]));
                await Task.Delay(50);
            }
        });

        // The supervisor: a new worker each time the last one died, until the poison is in the dead letters. Workers run
        // two tasks at a time with the default prefetch: tasks held or running beside the poison when it first kills its
        // worker are lost with it and counted once; after that the poison comes back as a redelivery, which a worker runs
        // alone (the rest given back, uncounted), so no ordinary task reaches the limit with it.
        var store = Assert.IsAssignableFrom<IDeadLetterStore>(_sandbox.App.Transport);
        var worker = StartWorker("worker 1", "w1.%h", 2);
        var deaths = new List<int>();
        DeadLetter? letter = null;
        var clock = Stopwatch.StartNew();
        await Eventually.HoldsAsync(async () =>
        {
            if (worker.HasExited)
            {
                deaths.Add(await worker.WaitForExitAsync(TimeSpan.FromSeconds(5)));
                Assert.True(deaths.Count <= 2 * limit, $"The worker died {deaths.Count} times.\n{_sandbox.DescribeProcesses()}");
                worker = StartWorker($"worker {deaths.Count + 1}", $"w{deaths.Count + 1}.%h", 2);
            }
            letter = (await store.ListDeadLettersAsync()).FirstOrDefault(l => l.Reason.Contains(poison.Id, StringComparison.Ordinal));
            return letter is not null;
        }, () => $"the poison task in the dead letters; the worker died {deaths.Count} times.\n{_sandbox.DescribeProcesses()}", TimeSpan.FromSeconds(120));
        var deadLettered = clock.Elapsed;

        // Other tasks keep flowing on the last worker.
        await Eventually.HoldsAsync(() => ordinary.Count >= 20 + (int)(deadLettered.TotalSeconds * 10), () => "more sends", TimeSpan.FromSeconds(30));
        await stopSending.CancelAsync();
        await sending;
        var reports = new List<SleepReport>();
        var failed = new List<string>();
        foreach (var handle in ordinary)
        {
            var result = await handle.WaitAsync(TimeSpan.FromSeconds(60));
            if (result.State == TaskState.Success) reports.Add(SleepReport.Of(result));
            else failed.Add(handle.Id);
        }
        var poisonResult = await poison.WaitAsync(TimeSpan.FromSeconds(10));
        var starts = _sandbox.ReadJournal().StartCounts();
        var letters = await store.ListDeadLettersAsync();
        var collateral = letters.Where(l => l != letter && !l.Reason.Contains(poison.Id, StringComparison.Ordinal)).ToList();

        output.WriteLine($"poison: the worker died {deaths.Count} times (exit codes {string.Join(", ", deaths)}), the poison started {starts[poison.Id]} times " +
            $"and was dead-lettered after {deadLettered.TotalSeconds:0.0} s: \"{letter!.Reason}\"; poison state {poisonResult.State.ToWire()}; " +
            $"{ordinary.Count} ordinary tasks: {reports.Count} succeeded, {reports.Count(r => r.DeliveryCount > 1)} of them redelivered " +
            $"(most deliveries {reports.Select(r => r.DeliveryCount).DefaultIfEmpty().Max()}), {failed.Count} failed; dead letters: {letters.Count}.");
        foreach (var id in failed) output.WriteLine($"ordinary task {id} failed; it started {starts.GetValueOrDefault(id)} times");
        Assert.Equal(limit, deaths.Count);
        Assert.Equal(limit, starts[poison.Id]);
        Assert.Contains($"limit {limit}", letter.Reason, StringComparison.Ordinal);
        Assert.Equal(Queue, letter.Queue);
        Assert.Equal(TaskState.Failure, poisonResult.State);
        Assert.True(failed.Count == 0 && collateral.Count == 0,
            $"Only the poison belongs in the dead letters; {failed.Count} ordinary tasks failed:\n{string.Join("\n", collateral.Select(l => l.Reason))}");
        Assert.False(worker.HasExited, worker.Describe());
    }

    [Fact]
    public async Task A_45_s_task_past_consumer_timeout_runs_once_and_its_channel_stays_open()
    {
        // The node closes a channel whose delivery stays unacknowledged 20 s; the worker knows (consumer_timeout=20) and
        // moves the task to a lease queue at 10 s. Worker B waits on the same queue the whole time.
        RabbitMQBroker.TickChannelsEverySecond();
        var environment = new Dictionary<string, string> { ["FENNEL_BROKER_URL"] = RabbitMQBroker.Url + "?consumer_timeout=20" };
        var a = StartWorker("worker A", "a.%h", 2, environment);
        var handle = await _sandbox.App.Client.SendTaskAsync("test.sleep_until", [DateTimeOffset.UtcNow.AddSeconds(45).ToUnixTimeMilliseconds()]);
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Started(a.Id).Count == 1, () => a.Describe(), TimeSpan.FromSeconds(30));
        var b = StartWorker("worker B", "b.%h", 2, environment);

        await Eventually.HoldsAsync(() => a.Stderr.Contains("now waits in lease queue", StringComparison.Ordinal),
            () => $"worker A to hand the task off to a lease queue.\n{a.Describe()}", TimeSpan.FromSeconds(20));
        var queues = RabbitMQBroker.ListQueues();
        var leaseQueues = queues.Where(q => q.Name.StartsWith("fennel.lease.celery.", StringComparison.Ordinal)).ToList();
        var celery = queues.Single(q => q.Name == Queue);
        Assert.True(leaseQueues.Count == 1 && leaseQueues[0].Ready == 1 && celery.Unacknowledged == 0,
            $"After the hand-off one lease queue holds the task's copy and nothing stays unacknowledged: {string.Join(", ", queues)}");

        var result = await handle.WaitAsync(TimeSpan.FromSeconds(90));

        Assert.True(result.State == TaskState.Success, $"{result.State.ToWire()}: {result.Exception}\n{_sandbox.DescribeProcesses()}");
        var report = SleepReport.Of(result);
        var journal = _sandbox.ReadJournal();
        var closed = a.StderrLines.Where(l => l.Contains("Lost the connection", StringComparison.Ordinal) || l.Contains("closed channel", StringComparison.Ordinal)).ToList();
        var left = RabbitMQBroker.ListQueues().Where(q => q.Name.StartsWith("fennel.lease.", StringComparison.Ordinal)).ToList();
        output.WriteLine($"long task: started {journal.StartCounts()[handle.Id]} time(s), delivery {report.DeliveryCount}; B started " +
            $"{journal.Started(b.Id).Count}; lease queue at hand-off {leaseQueues[0]}; lease queues left {left.Count}; channel or connection lost: {closed.Count}.");
        Assert.Equal(1, journal.StartCounts()[handle.Id]);
        Assert.Equal(1, report.DeliveryCount);
        Assert.Empty(journal.Started(b.Id));
        Assert.True(closed.Count == 0, $"Worker A lost its channel or connection:\n{string.Join("\n", closed)}");
        Assert.True(left.Count == 0, $"The lease queue outlived its task: {string.Join(", ", left)}");
    }

    [Fact]
    public async Task A_long_task_whose_worker_is_killed_comes_back_from_its_lease_queue_and_counts_as_a_redelivery()
    {
        // As above, with worker A killed 30 s into the task, 20 s after the hand-off. A's lease is 6 s, so the copy in the
        // lease queue expires (and dead-letters back to the queue) at most 6 s after A stopped renewing it.
        RabbitMQBroker.TickChannelsEverySecond();
        var url = RabbitMQBroker.Url + "?consumer_timeout=20";
        var a = StartWorker("worker A", "a.%h", 2, new Dictionary<string, string> { ["FENNEL_BROKER_URL"] = url, ["FENNEL_WORKER__LEASEDURATION"] = "00:00:06" });
        var until = DateTimeOffset.UtcNow.AddSeconds(45);
        var handle = await _sandbox.App.Client.SendTaskAsync("test.sleep_until", [until.ToUnixTimeMilliseconds()]);
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Started(a.Id).Count == 1, () => a.Describe(), TimeSpan.FromSeconds(30));
        var startedOnA = DateTime.UtcNow;
        var b = StartWorker("worker B", "b.%h", 2, new Dictionary<string, string> { ["FENNEL_BROKER_URL"] = url });
        await Eventually.HoldsAsync(() => a.Stderr.Contains("now waits in lease queue", StringComparison.Ordinal),
            () => $"worker A to hand the task off to a lease queue.\n{a.Describe()}", TimeSpan.FromSeconds(20));

        await Task.Delay(startedOnA.AddSeconds(30) - DateTime.UtcNow); // the scenario: the kill comes 30 s into the task
        Assert.Empty(_sandbox.ReadJournal().Started(b.Id));
        a.Signal(ChildProcess.SigKill);
        await a.WaitForExitAsync(TimeSpan.FromSeconds(10));
        var killed = DateTime.UtcNow;
        await Eventually.HoldsAsync(() => _sandbox.ReadJournal().Started(b.Id).Count == 1,
            () => $"worker B to start the task after the lease copy expired.\n{_sandbox.DescribeProcesses()}", TimeSpan.FromSeconds(20));
        var back = DateTime.UtcNow - killed;

        var result = await handle.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.State == TaskState.Success, $"{result.State.ToWire()}: {result.Exception}\n{_sandbox.DescribeProcesses()}");
        var report = SleepReport.Of(result);
        var journal = _sandbox.ReadJournal();
        output.WriteLine($"long task, kill -9 at 30 s: back on worker B {back.TotalSeconds:0.0} s after the kill, delivery {report.DeliveryCount}; " +
            $"started {journal.StartCounts()[handle.Id]} times (A {journal.Started(a.Id).Count}, B {journal.Started(b.Id).Count}).");
        Assert.Equal(2, report.DeliveryCount);
        Assert.Equal(2, journal.StartCounts()[handle.Id]);
        Assert.True(back < TimeSpan.FromSeconds(6 + 3), $"The task came back {back.TotalSeconds:0.0} s after the kill; the lease copy lives at most 6 s.");
    }

    [Fact]
    public async Task A_task_due_in_5_s_is_parked_in_a_delay_queue_and_runs_once_when_due()
    {
        var worker = StartWorker("worker", "w.%h", 2);
        var sentAt = DateTimeOffset.UtcNow;
        var handle = await _sandbox.App.Client.SendTaskAsync("test.sleep_until", [0], options: new CallOptions { Countdown = TimeSpan.FromSeconds(5) });

        // Parked: the worker holds nothing (the task queue has nothing unacknowledged) and a delay queue has the message.
        IReadOnlyList<QueueRow> queues = [];
        await Eventually.HoldsAsync(() =>
        {
            queues = RabbitMQBroker.ListQueues();
            return queues.Any(q => q.Name.StartsWith("fennel.delayed.celery.", StringComparison.Ordinal) && q.Ready == 1)
                && queues.Single(q => q.Name == Queue) is { Ready: 0, Unacknowledged: 0 };
        }, () => $"the task parked in a delay queue: {string.Join(", ", queues)}.\n{worker.Describe()}", TimeSpan.FromSeconds(4));
        var parkedAfter = DateTimeOffset.UtcNow - sentAt;
        Assert.Empty(_sandbox.ReadJournal().Entries);

        var result = await handle.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.State == TaskState.Success, $"{result.State.ToWire()}: {result.Exception}\n{worker.Describe()}");
        var report = SleepReport.Of(result);
        var ranAfter = DateTimeOffset.FromUnixTimeMilliseconds(report.Started) - sentAt;
        // Nothing else comes: wait past the delay queue's second and look again.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var starts = _sandbox.ReadJournal().StartCounts()[handle.Id];
        output.WriteLine($"ETA: parked (seen {parkedAfter.TotalSeconds:0.0} s after the send, in {queues.First(q => q.Name.StartsWith("fennel.delayed.", StringComparison.Ordinal))}); " +
            $"ran {ranAfter.TotalSeconds:0.00} s after the send, {starts} time(s), delivery {report.DeliveryCount}.");
        Assert.True(ranAfter >= TimeSpan.FromSeconds(5), $"The task ran {ranAfter.TotalSeconds:0.00} s after it was sent with a 5 s countdown.");
        Assert.Equal(1, starts);
        Assert.Equal(1, report.DeliveryCount);
    }

    private static List<DateTime> Reconnections(ChildProcess worker) =>
        [.. worker.StderrLines.Where(l => l.Contains("Reconnected to RabbitMQ", StringComparison.Ordinal)).Select(LogTime)];

    // The console logger's timestamp (UTC): "2025-01-31 12:34:56.789 info: ...".
    private static DateTime LogTime(string line) =>
        DateTime.ParseExact(line[..23], "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private ChildProcess StartWorker(string name, string nodeName, int concurrency, IReadOnlyDictionary<string, string>? environment = null,
        int prefetchMultiplier = 4)
    {
        var variables = new Dictionary<string, string>(TransportInfo);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) variables[key] = value;
        return _sandbox.StartTestApp(name, ["worker", "-Q", Queue, "-n", nodeName, "-c", concurrency.ToString(CultureInfo.InvariantCulture),
            "--prefetch-multiplier", prefetchMultiplier.ToString(CultureInfo.InvariantCulture), "-l", "warning"], variables);
    }
}

/// <summary>What the test app's <c>test.sleep_until</c> returns: when it started (Unix ms) and its delivery count.</summary>
internal sealed record SleepReport(long Started, int DeliveryCount)
{
    public static SleepReport Of(TaskResult result) =>
        result.Result is JsonObject o && o["started"]?.GetValue<long>() is { } started && o["delivery_count"]?.GetValue<int>() is { } count
            ? new SleepReport(started, count)
            : throw new InvalidOperationException($"Not what test.sleep_until returns: {result.Result?.ToJsonString()}");
}
