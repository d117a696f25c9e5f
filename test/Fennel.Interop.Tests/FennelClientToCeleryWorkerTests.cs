using Fennel.Results;
using static Fennel.Interop.Tests.ContractOutcome;

namespace Fennel.Interop.Tests;

/// <summary>
/// Fennel's client sends the contract calls by name; only a real Celery worker (python/interop_tasks.py) consumes the
/// queue. Each subclass runs the same test on one <see cref="InteropSetup"/>.
/// </summary>
public abstract class FennelClientToCeleryWorkerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ResultTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(20);
    /// <summary>How much later than asked a delayed call may finish: Celery runs it when due, give or take scheduling.</summary>
    private static readonly TimeSpan MaxLateness = TimeSpan.FromSeconds(10);

    private InteropSandbox _sandbox = null!; // set by InitializeAsync

    private protected abstract InteropSetup Setup { get; }

    public async Task InitializeAsync() => _sandbox = await InteropSandbox.CreateAsync(Setup);

    public async Task DisposeAsync()
    {
        if (_sandbox is not null) await _sandbox.DisposeAsync(); // null when InitializeAsync failed (no server)
    }

    [Fact]
    public async Task Every_contract_call_from_Fennel_gets_the_Python_result_from_a_Celery_worker()
    {
        var worker = _sandbox.StartCeleryWorker();
        await InteropSandbox.WaitUntilReadyAsync(worker);
        var client = _sandbox.App.Client;
        var calls = ContractCalls.For(Setup.Broker);

        var sent = DateTimeOffset.UtcNow;
        var handles = await client.SendBatchAsync([.. calls.Select(c => c.ToTaskCall(sent, _sandbox.Queue))]);

        // Waited for all at once, each noting when its result arrived: rpc:// results have no date_done, and the arrival
        // time is then the closest stand-in for it.
        var deadline = DateTime.UtcNow + ResultTimeout;
        var outcomes = await Task.WhenAll(handles.Select(async handle =>
        {
            try
            {
                var result = await handle.WaitAsync(Remaining(deadline));
                return (Result: result, SeenAt: DateTimeOffset.UtcNow, Timeout: (TimeoutException?)null);
            }
            catch (TimeoutException ex)
            {
                return (Result: (TaskResult?)null, SeenAt: DateTimeOffset.UtcNow, Timeout: ex);
            }
        }));

        var problems = new List<string>();
        for (var i = 0; i < handles.Count; i++)
        {
            var call = calls[i];
            var handle = handles[i];
            if (outcomes[i] is not { Result: { } result, SeenAt: var seenAt })
            {
                problems.Add($"{call}: {outcomes[i].Timeout?.Message} Its message is {await _sandbox.LocateMessageAsync(handle.Id)}.");
                continue;
            }
            problems.AddRange((await CheckAsync(call, handle, result, sent, seenAt)).Select(p => $"{call}: {p}"));
            output.WriteLine($"{call.Key}: {result.State.ToWire()} {PythonValues.Show(result.Result)}");
        }
        var ranOnCelery = WorkerLog.Read(worker).Received.ToHashSet(StringComparer.Ordinal);
        problems.AddRange(handles.Where(h => !ranOnCelery.Contains(h.Id)).Select(h => $"task {h.Id} does not appear in the Celery worker's log"));

        Assert.True(problems.Count == 0, $"{problems.Count} problem(s):\n{string.Join("\n", problems)}\n\n{_sandbox.DescribeProcesses()}");
    }

    /// <summary>What is wrong with one result as Fennel reads it; empty when it is what the Python task produced.</summary>
    private static async Task<IEnumerable<string>> CheckAsync(ContractCall call, AsyncResult handle, TaskResult result, DateTimeOffset sent, DateTimeOffset seenAt)
    {
        var problems = new List<string>();
        switch (call.Expected)
        {
            case Success success:
                if (result.State != TaskState.Success)
                {
                    problems.Add($"state {result.State.ToWire()} ({result.Exception?.ToString() ?? PythonValues.Show(result.Result)}), expected SUCCESS");
                    return problems;
                }
                if (!PythonValues.AreSame(success.Value, result.Result))
                {
                    problems.Add($"result {PythonValues.Show(result.Result)} ({PythonValues.TypeName(result.Result)}), expected {success.ValueJson} ({PythonValues.TypeName(success.Value)})");
                }
                break;

            case Error error:
                if (result.State != error.State)
                {
                    problems.Add($"state {result.State.ToWire()} ({PythonValues.Show(result.Result)}), expected {error.State.ToWire()}");
                    return problems;
                }
                if (!PythonValues.AreSame(error.StoredResult, result.Result))
                {
                    problems.Add($"stored {PythonValues.Show(result.Result)}, expected exactly {PythonValues.Show(error.StoredResult)}");
                }
                try
                {
                    await handle.GetJsonAsync(TimeSpan.FromSeconds(5));
                    problems.Add("GetJsonAsync returned instead of throwing TaskFailedException");
                }
                catch (TaskFailedException ex)
                {
                    if (ex.State != error.State || ex.RemoteType != error.Type || ex.Remote.Module != error.Module || ex.RemoteMessage != error.Message)
                    {
                        problems.Add($"TaskFailedException says {ex.State.ToWire()} {ex.Remote.Module}.{ex.RemoteType}: {ex.RemoteMessage}, expected " +
                            $"{error.State.ToWire()} {error.Module}.{error.Type}: {error.Message}");
                    }
                    if (error.State == TaskState.Failure && string.IsNullOrEmpty(ex.RemoteTraceback)) problems.Add("TaskFailedException has no Python traceback");
                }
                break;
        }
        if (call.Expected.AtLeast > TimeSpan.Zero)
        {
            // rpc:// results carry no date_done: the time this process received the result stands in (a little later).
            var done = result.DateDone ?? seenAt;
            if (done - sent < call.Expected.AtLeast - ClockSlack || done - sent > call.Expected.AtLeast + MaxLateness)
            {
                problems.Add($"done {(done - sent).TotalSeconds:0.000} s after sending, expected {call.Expected.AtLeast.TotalSeconds:0.###} s " +
                    $"(up to {MaxLateness.TotalSeconds:0} s later)");
            }
        }
        return problems;
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }
}

/// <summary>On Redis: broker and result backend.</summary>
public sealed class FennelClientToCeleryWorkerOnRedisTests(ITestOutputHelper output) : FennelClientToCeleryWorkerTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.Redis;
}

/// <summary>On RabbitMQ, results through rpc:// to the Fennel client's reply queue.</summary>
public sealed class FennelClientToCeleryWorkerOnRabbitMQWithRpcTests(ITestOutputHelper output) : FennelClientToCeleryWorkerTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.RabbitMQWithRpc;
}

/// <summary>On RabbitMQ with results in Redis.</summary>
public sealed class FennelClientToCeleryWorkerOnRabbitMQWithRedisResultsTests(ITestOutputHelper output) : FennelClientToCeleryWorkerTests(output)
{
    private protected override InteropSetup Setup => InteropSetup.RabbitMQWithRedisResults;
}
