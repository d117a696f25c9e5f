using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Results;
using static Fennel.Interop.Tests.ContractOutcome;

namespace Fennel.Interop.Tests;

/// <summary>
/// A Python Celery client sends the contract calls; only a Fennel worker (samples/Interop) consumes the queue. Each
/// subclass runs the same tests on one <see cref="InteropSetup"/>.
/// </summary>
public abstract class CeleryClientToFennelWorkerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ResultTimeout = TimeSpan.FromSeconds(60);
    /// <summary>Clock resolution between the two processes' timestamps (date_done has microseconds, sent_at too).</summary>
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(20);
    /// <summary>How much later than asked a delayed call may finish: Celery runs it when due, give or take scheduling.</summary>
    private static readonly TimeSpan MaxLateness = TimeSpan.FromSeconds(10);

    private InteropSandbox _sandbox = null!; // set by InitializeAsync

    private protected abstract InteropSetup Setup { get; }

    private protected InteropSandbox Sandbox => _sandbox;

    private protected ITestOutputHelper Output => output;

    public async Task InitializeAsync() => _sandbox = await InteropSandbox.CreateAsync(Setup);

    public async Task DisposeAsync()
    {
        if (_sandbox is not null) await _sandbox.DisposeAsync(); // null when InitializeAsync failed (no server)
    }

    [Fact]
    public async Task Every_contract_call_from_a_Celery_client_gets_the_Python_result_from_a_Fennel_worker()
    {
        var worker = _sandbox.StartFennelWorker();
        await InteropSandbox.WaitUntilReadyAsync(worker);
        var calls = ContractCalls.For(Setup.Broker);

        var (results, client) = await _sandbox.RunCeleryClientAsync(calls, ResultTimeout);

        var problems = new List<string>();
        foreach (var call in calls)
        {
            if (!results.TryGetValue(call.Key, out var result))
            {
                problems.Add($"{call}: not in the report");
                continue;
            }
            problems.AddRange(Check(call, result).Select(p => $"{call}: {p}"));
        }
        var ranOnFennel = WorkerLog.Read(worker).Received.ToHashSet(StringComparer.Ordinal);
        problems.AddRange(results.Values.Where(r => !ranOnFennel.Contains(Text(r, "task_id") ?? ""))
            .Select(r => $"{Text(r, "key")}: task {Text(r, "task_id")} does not appear in the Fennel worker's log"));
        output.WriteLine($"{calls.Count} calls on {Setup}; Celery client report:\n{client.Stdout}");

        Assert.True(problems.Count == 0, $"{problems.Count} problem(s):\n{string.Join("\n", problems)}\n\n{_sandbox.DescribeProcesses()}");
    }

    /// <summary>What is wrong with one reported result; empty when it is what Python would have produced.</summary>
    private protected static IEnumerable<string> Check(ContractCall call, JsonObject result)
    {
        var meta = result["meta"] as JsonObject;
        if (result["timed_out"]?.GetValue<bool>() == true)
        {
            yield return $"no result within {ResultTimeout.TotalSeconds:0} s (state {Text(result, "state")})";
            yield break;
        }
        if (meta is null)
        {
            yield return "nothing stored under celery-task-meta-<id>, or no rpc:// result message";
            yield break;
        }
        if (Text(meta, "task_id") != Text(result, "task_id")) yield return $"stored task_id {Text(meta, "task_id")} is not {Text(result, "task_id")}";

        switch (call.Expected)
        {
            case Success success:
                if (Text(result, "state") != "SUCCESS" || Text(meta, "status") != "SUCCESS")
                {
                    yield return $"state {Text(result, "state")} (stored {Text(meta, "status")}: {PythonValues.Show(meta["result"])}), expected SUCCESS";
                    yield break;
                }
                if (!PythonValues.AreSame(success.Value, result["result"]) || Text(result, "result_type") != PythonValues.TypeName(success.Value))
                {
                    yield return $"the client got {PythonValues.Show(result["result"])} ({Text(result, "result_type")}), expected {success.ValueJson} ({PythonValues.TypeName(success.Value)})";
                }
                if (!PythonValues.AreSame(success.Value, meta["result"])) yield return $"stored result {PythonValues.Show(meta["result"])}, expected {success.ValueJson}";
                break;

            case Error error:
                var state = error.State.ToWire();
                if (Text(result, "state") != state || Text(meta, "status") != state)
                {
                    yield return $"state {Text(result, "state")} (stored {Text(meta, "status")}: {PythonValues.Show(meta["result"])}), expected {state}";
                    yield break;
                }
                if (!PythonValues.AreSame(error.StoredResult, meta["result"]))
                {
                    yield return $"stored {PythonValues.Show(meta["result"])}, expected exactly {PythonValues.Show(error.StoredResult)}";
                }
                var rebuilt = result["exception"];
                if (Text(rebuilt, "type") != error.Type || Text(rebuilt, "module") != error.Module
                    || !PythonValues.AreSame(new JsonArray(error.Message), rebuilt?["args"]))
                {
                    yield return $"the Celery client rebuilt {PythonValues.Show(rebuilt)}, expected {error.Module}.{error.Type}('{error.Message}')";
                }
                break;
        }

        if (call.Expected.AtLeast > TimeSpan.Zero)
        {
            var sent = DateTimeOffset.Parse(Text(result, "sent_at")!, CultureInfo.InvariantCulture);
            // rpc:// result messages have no date_done: then the time the client saw the result stands in for it (a little
            // later than the worker stored it; the client waits for the calls one after the other).
            var done = Text(result, "date_done") is { } dateDone
                ? DateTimeOffset.Parse(dateDone, CultureInfo.InvariantCulture)
                : sent + TimeSpan.FromSeconds(result["ready_after"]!.GetValue<double>());
            if (done - sent < call.Expected.AtLeast - ClockSlack || done - sent > call.Expected.AtLeast + MaxLateness)
            {
                yield return $"done {(done - sent).TotalSeconds:0.000} s after sending, expected {call.Expected.AtLeast.TotalSeconds:0.###} s " +
                    $"(up to {MaxLateness.TotalSeconds:0} s later)";
            }
        }
    }

    private protected static string? Text(JsonNode? node, string name) => node?[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}

/// <summary>On Redis: broker and result backend.</summary>
public sealed class CeleryClientToFennelWorkerOnRedisTests(ITestOutputHelper output) : CeleryClientToFennelWorkerTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.Redis;
}

/// <summary>On RabbitMQ with results in Redis.</summary>
public sealed class CeleryClientToFennelWorkerOnRabbitMQWithRedisResultsTests(ITestOutputHelper output) : CeleryClientToFennelWorkerTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.RabbitMQWithRedisResults;
}
