using System.Text.Json.Nodes;
using static Fennel.Interop.Tests.ContractOutcome;

namespace Fennel.Interop.Tests;

/// <summary>
/// On RabbitMQ with results through rpc:// (the default with an amqp:// broker): the contract calls, and what only RabbitMQ
/// does: the broker's own expiry of unconsumed messages, x-max-priority queues, and py-amqp's 64-bit 'L' headers.
/// </summary>
public sealed class CeleryClientToFennelWorkerOnRabbitMQWithRpcTests(ITestOutputHelper output) : CeleryClientToFennelWorkerTests(output)
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(30);

    private protected override InteropSetup Setup => InteropSetup.RabbitMQWithRpc;

    /// <summary>
    /// Celery turns <c>expires</c> into the AMQP <c>expiration</c> property, so RabbitMQ itself drops the message once it
    /// expires unconsumed: no worker sees it, nobody stores REVOKED, and the client's result stays PENDING. A Fennel worker
    /// started afterwards serves the next call and never hears of the dropped one.
    /// </summary>
    [Fact]
    public async Task A_task_that_expires_before_any_worker_takes_it_is_dropped_by_RabbitMQ_and_stays_PENDING()
    {
        var expiring = new ContractCall("expires unconsumed", "tasks.add", "[1, 1]", new Success("2")) { ExpiresIn = TimeSpan.FromSeconds(3) };
        var first = await Sandbox.StartCeleryClientAsync([expiring], TimeSpan.FromSeconds(8));

        // No worker yet: the message waits in the queue, then the broker drops it when its TTL runs out.
        await Eventually.HoldsAsync(async () => await Sandbox.CountReadyAsync() == 1,
            () => $"the message to wait in {Sandbox.Queue}.\n{Sandbox.DescribeProcesses()}", TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(async () => await Sandbox.CountReadyAsync() == 0,
            () => $"RabbitMQ to drop the expired message from {Sandbox.Queue}.\n{Sandbox.DescribeProcesses()}", TimeSpan.FromSeconds(30));

        var worker = Sandbox.StartFennelWorker();
        await InteropSandbox.WaitUntilReadyAsync(worker);
        var firstReport = await Sandbox.ReadCeleryReportAsync(first, TimeSpan.FromSeconds(8));
        var dropped = firstReport[expiring.Key];
        Assert.True(dropped["timed_out"]?.GetValue<bool>() == true && Text(dropped, "state") == "PENDING" && dropped["meta"] is null,
            $"The Celery client must see PENDING and no result message for the dropped task: {dropped.ToJsonString()}");

        var control = new ContractCall("after the drop", "tasks.add", "[2, 2]", new Success("4"));
        var (results, _) = await Sandbox.RunCeleryClientAsync([control], ShortTimeout);
        var problems = Check(control, results[control.Key]).ToList();
        var droppedId = Text(dropped, "task_id")!;
        var mentions = worker.StderrLines.Where(l => l.Contains(droppedId, StringComparison.Ordinal)).ToList();
        Assert.True(problems.Count == 0 && mentions.Count == 0,
            $"The worker must serve the next call ({string.Join("; ", problems)}) and never see the dropped task {droppedId} " +
            $"({string.Join(" | ", mentions)}).\n{Sandbox.DescribeProcesses()}");
    }

    /// <summary>
    /// With <c>x-max-priority</c> declared alike on both sides (Celery <c>task_queue_max_priority=10</c>, Fennel
    /// <c>?max_priority=10</c>), RabbitMQ serves a higher priority number first: calls sent low first, then high, while no
    /// worker runs, reach a worker that takes one message at a time in the order high, then low.
    /// </summary>
    [Fact]
    public async Task Higher_priority_calls_sent_while_no_worker_runs_reach_a_Fennel_worker_first_on_an_x_max_priority_queue()
    {
        await using var sandbox = await InteropSandbox.CreateAsync(Setup with { MaxPriority = 10 });
        ContractCall[] low = [.. Enumerable.Range(0, 4).Select(i => new ContractCall($"low {i}", "tasks.add", $"[{i}, 100]", new Success($"{i + 100}")) { Priority = 1 })];
        ContractCall[] high = [.. Enumerable.Range(0, 4).Select(i => new ContractCall($"high {i}", "tasks.add", $"[{i}, 900]", new Success($"{i + 900}")) { Priority = 8 })];
        var client = await sandbox.StartCeleryClientAsync([.. low, .. high], ResultTimeout);
        await Eventually.HoldsAsync(async () => await sandbox.CountReadyAsync() == low.Length + high.Length,
            () => $"all {low.Length + high.Length} messages to wait in {sandbox.Queue}.\n{sandbox.DescribeProcesses()}", TimeSpan.FromSeconds(30));

        var worker = sandbox.StartFennelWorker(concurrency: 1, prefetchMultiplier: 1);
        var results = await sandbox.ReadCeleryReportAsync(client, ResultTimeout);

        var problems = low.Concat(high).SelectMany(c => Check(c, results[c.Key]).Select(p => $"{c}: {p}")).ToList();
        var highIds = high.Select(c => Text(results[c.Key], "task_id")).ToHashSet(StringComparer.Ordinal);
        var order = WorkerLog.Read(worker).Received.Select(id => highIds.Contains(id) ? "high" : "low").ToList();
        Output.WriteLine($"Received in the order: {string.Join(", ", order)}");
        Assert.True(problems.Count == 0, $"{string.Join("\n", problems)}\n{sandbox.DescribeProcesses()}");
        Assert.Equal([.. Enumerable.Repeat("high", high.Length), .. Enumerable.Repeat("low", low.Length)], order);
    }

    /// <summary>
    /// py-amqp encodes an int header beyond 32 bits with type 'L' (unsigned 64), which RabbitMQ passes on and
    /// RabbitMQ.Client cannot parse (it closes the connection, so the message comes back, and again). Fennel rewrites it
    /// below the client: the task gets the value, and the worker never loses its connection.
    /// </summary>
    [Fact]
    public async Task A_header_beyond_32_bits_from_py_amqp_reaches_the_Fennel_task_and_the_worker_stays_connected()
    {
        var worker = Sandbox.StartFennelWorker();
        await InteropSandbox.WaitUntilReadyAsync(worker);
        ContractCall[] calls =
        [
            new("2**40 header", "tasks.header", """["x-big"]""", new Success("1099511627776"))
            {
                Headers = new Dictionary<string, object> { ["x-big"] = 1L << 40, ["x-tenant"] = "acme" },
            },
            new("next call", "tasks.add", "[2, 3]", new Success("5")),
        ];

        var (results, _) = await Sandbox.RunCeleryClientAsync(calls, ShortTimeout);

        var problems = calls.SelectMany(c => Check(c, results[c.Key]).Select(p => $"{c}: {p}")).ToList();
        var lost = worker.StderrLines.Count(l => l.Contains("Lost the connection", StringComparison.Ordinal));
        Assert.True(problems.Count == 0 && lost == 0,
            $"{string.Join("\n", problems)}\n'Lost the connection' lines in the worker's log: {lost}.\n{Sandbox.DescribeProcesses(lastLines: 30)}");
    }

    private static readonly TimeSpan ResultTimeout = TimeSpan.FromSeconds(60);
}
