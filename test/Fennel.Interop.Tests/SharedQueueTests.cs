using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Results;
using Fennel.Tasks;

namespace Fennel.Interop.Tests;

/// <summary>
/// A Fennel worker and a Celery worker consume one queue; 2,000 calls must each run exactly once, correctly. On Redis
/// Fennel's client sends them all; on RabbitMQ (results through rpc://) Fennel's client and a Celery client send half each,
/// and each gets its results on its own reply queue from whichever worker ran the call.
/// </summary>
public sealed class SharedQueueTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int TaskCount = 2000;
    private static readonly TimeSpan AllDone = TimeSpan.FromSeconds(180);

    private InteropSandbox _sandbox = null!; // set by the test

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_sandbox is not null) await _sandbox.DisposeAsync(); // null when creating it failed (no server)
    }

    [Fact]
    public async Task A_Fennel_worker_and_a_Celery_worker_on_one_Redis_queue_run_2000_tasks_each_exactly_once()
    {
        _sandbox = await InteropSandbox.CreateAsync(InteropSetup.Redis);
        await RunAsync(celeryClientShare: 0);

        // Nothing left behind in the broker: the queue is empty and no message is still held in kombu's unacked hash.
        await using var redis = await InteropSandbox.ConnectAsync();
        var db = redis.GetDatabase();
        await Eventually.HoldsAsync(async () => await db.HashLengthAsync("unacked") == 0 && await db.ListLengthAsync(_sandbox.Queue) == 0, () => $"the queue and the unacked hash to be empty (unacked: {db.HashLength("unacked")}, queue: {db.ListLength(_sandbox.Queue)})",
            TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_Fennel_worker_and_a_Celery_worker_on_one_RabbitMQ_queue_run_2000_tasks_from_both_clients_each_exactly_once()
    {
        _sandbox = await InteropSandbox.CreateAsync(InteropSetup.RabbitMQWithRpc);
        await RunAsync(celeryClientShare: TaskCount / 2);

        // Every message was acknowledged: none waits in the queue (a message still unacked would have a run to come).
        Assert.Equal(0u, await _sandbox.CountReadyAsync());
    }

    /// <summary>
    /// Starts both workers, sends <see cref="TaskCount"/> calls (the last <paramref name="celeryClientShare"/> of them
    /// from a Celery client, the rest from Fennel's), checks every result, then both workers' logs: each task received
    /// once and run once, by one of them, and each worker ran a share.
    /// </summary>
    private async Task RunAsync(int celeryClientShare)
    {
        var fennel = _sandbox.StartFennelWorker();
        var celery = _sandbox.StartCeleryWorker();
        await InteropSandbox.WaitUntilReadyAsync(fennel);
        await InteropSandbox.WaitUntilReadyAsync(celery);

        var calls = Enumerable.Range(0, TaskCount).Select(Call).ToList();
        var fromFennel = calls[..(TaskCount - celeryClientShare)];
        var fromCelery = calls[(TaskCount - celeryClientShare)..];
        var clock = Stopwatch.StartNew();
        var celeryClient = fromCelery.Count > 0 ? await _sandbox.StartCeleryClientAsync(fromCelery, AllDone) : null;
        var handles = await _sandbox.App.Client.SendBatchAsync([.. fromFennel.Select(c => c.ToTaskCall(DateTimeOffset.UtcNow, _sandbox.Queue))]);
        var wrong = new List<string>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + AllDone;
        for (var i = 0; i < handles.Count; i++)
        {
            TaskResult result;
            try
            {
                var left = deadline - DateTime.UtcNow;
                result = await handles[i].WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"Only {i} of {handles.Count} results within {AllDone.TotalSeconds:0} s: {ex.Message}\n{_sandbox.DescribeProcesses(lastLines: 40)}", ex);
            }
            ids.Add(handles[i].Id);
            var expected = ((ContractOutcome.Success)fromFennel[i].Expected).Value;
            if (result.State != TaskState.Success || !PythonValues.AreSame(expected, result.Result))
            {
                wrong.Add($"{fromFennel[i]} [{handles[i].Id}] on {result.Worker ?? "a Celery worker"}: {result.State.ToWire()} " +
                    $"{PythonValues.Show(result.Result)}, expected {PythonValues.Show(expected)}");
            }
        }
        if (celeryClient is not null)
        {
            var report = await _sandbox.ReadCeleryReportAsync(celeryClient, AllDone);
            foreach (var call in fromCelery)
            {
                if (!report.TryGetValue(call.Key, out var result))
                {
                    wrong.Add($"{call}: not in the Celery client's report");
                    continue;
                }
                ids.Add(result["task_id"]!.GetValue<string>());
                var expected = ((ContractOutcome.Success)call.Expected).Value;
                if (result["state"]?.GetValue<string>() != "SUCCESS" || !PythonValues.AreSame(expected, result["result"]))
                {
                    wrong.Add($"{call} [{result["task_id"]}] sent by Celery: {result["state"]} {PythonValues.Show(result["result"])}, expected {PythonValues.Show(expected)}");
                }
            }
        }
        var elapsed = clock.Elapsed;

        // Each worker logs "Task <name>[<id>] received" per message it takes and "... succeeded" per successful run, after
        // storing the result; wait until every run is in the logs, then count.
        await Eventually.HoldsAsync(() => WorkerLog.Read(fennel).Succeeded.Count() + WorkerLog.Read(celery).Succeeded.Count() >= TaskCount, () => $"both logs to show {TaskCount} successful runs.\n{_sandbox.DescribeProcesses(lastLines: 40)}",
            TimeSpan.FromSeconds(30));
        var fennelLog = WorkerLog.Read(fennel);
        var celeryLog = WorkerLog.Read(celery);
        var runs = fennelLog.Succeeded.Concat(celeryLog.Succeeded).CountBy(id => id).ToDictionary(StringComparer.Ordinal);
        var receipts = fennelLog.Received.Concat(celeryLog.Received).CountBy(id => id).ToDictionary(StringComparer.Ordinal);
        var fennelRuns = fennelLog.Succeeded.Count();
        var celeryRuns = celeryLog.Succeeded.Count();
        output.WriteLine($"{TaskCount} tasks ({fromFennel.Count} from Fennel's client, {fromCelery.Count} from a Celery client) on {_sandbox.Setup} " +
            $"sent and read back in {elapsed.TotalSeconds:0.00} s: Fennel worker ran {fennelRuns}, " +
            $"Celery worker ran {celeryRuns} ({100.0 * fennelRuns / TaskCount:0.#}% / {100.0 * celeryRuns / TaskCount:0.#}%).");

        Assert.True(wrong.Count == 0, $"{wrong.Count} wrong result(s):\n{string.Join("\n", wrong.Take(20))}");
        var notOnce = ids.Where(id => runs.GetValueOrDefault(id) != 1 || receipts.GetValueOrDefault(id) != 1)
            .Select(id => $"{id}: ran {runs.GetValueOrDefault(id)}×, received {receipts.GetValueOrDefault(id)}×").ToList();
        Assert.True(notOnce.Count == 0, $"{notOnce.Count} task(s) did not run exactly once:\n{string.Join("\n", notOnce.Take(20))}");
        var strangers = runs.Keys.Where(id => !ids.Contains(id)).ToList();
        Assert.True(strangers.Count == 0, $"The workers ran {strangers.Count} task(s) nobody sent in this test: {string.Join(", ", strangers.Take(5))}");
        Assert.Empty(fennelLog.FailedOrRetried.Concat(celeryLog.FailedOrRetried));
        Assert.True(fennelRuns > 0 && celeryRuns > 0, $"Both workers must run a share: Fennel ran {fennelRuns}, Celery {celeryRuns}.");
    }

    /// <summary>Call <paramref name="i"/> of a mix of the contract tasks, with the result Python gives.</summary>
    private static ContractCall Call(int i)
    {
        var n = i.ToString(CultureInfo.InvariantCulture);
        var (name, args, kwargs, expected) = (i % 5) switch
        {
            // past a long: exact big ints both ways
            0 => ("tasks.add", $"[{n}, 9223372036854775807]", null, Json((new BigInteger(i) + long.MaxValue).ToString(CultureInfo.InvariantCulture))),
            // int times float is a float, written with a fraction even when whole (3.0)
            1 => ("tasks.mul", $"[{n}, 0.5]", null, Json((i * 0.5).ToString("0.0##", CultureInfo.InvariantCulture))),
            2 => ("tasks.tsum", $"[[{n}, {n}, {n}]]", null, Json((3 * i).ToString(CultureInfo.InvariantCulture))),
            3 => ("tasks.greet", $"[\"user {n} ☃\"]", new JsonObject { ["greeting"] = "Hej" },
                new JsonObject { ["message"] = $"Hej, user {n} ☃!", ["len"] = $"user {n} ☃".Length }),
            _ => ("tasks.add", $"[{n}, 0.25]", (JsonObject?)null, Json((i + 0.25).ToString("0.0##", CultureInfo.InvariantCulture))),
        };
        return new ContractCall($"call {n}", name, args, new ContractOutcome.Success(expected.ToJsonString())) { KwargsJson = kwargs?.ToJsonString() ?? "{}" };
    }

    private static JsonNode Json(string json) => JsonNode.Parse(json)!;
}
