using System.Diagnostics;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Cli;
using Fennel.Cli.CommandLine;
using Fennel.Results;

namespace Fennel.TestApp;

/// <summary>
/// <c>produce --count N [--timeout S]</c>: sends N echo tasks, half <c>customers.echo</c> and half <c>core.echo</c>, waits
/// for every result and checks its value and that <c>customers.*</c> ran on a <c>celery@customers.*</c> worker and
/// <c>core.*</c> on another. Prints one summary line; exits 0 only when every result is right.
/// </summary>
public static class Produce
{
    private const int BatchSize = 250;
    private const string CustomersWorkerPrefix = "celery@customers.";

    public static CommandSpec Command { get; } = new("produce",
        "Sends N echo tasks (half customers.echo, half core.echo), waits for them and checks who ran them.",
        [
            new(["--count"], "How many tasks to send (default 2000)", "N"),
            new(["--timeout"], "Seconds to wait for all the results (default 120)", "SECONDS"),
        ], [], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var count = cmd.GetInt("count", min: 1) ?? 2000;
        var deadline = Stopwatch.GetTimestamp() + (long)((cmd.GetSeconds("timeout") ?? TimeSpan.FromSeconds(120)).TotalSeconds * Stopwatch.Frequency);
        var clock = Stopwatch.StartNew();

        var calls = Enumerable.Range(0, count)
            .Select(i => new TaskCall(i % 2 == 0 ? "customers.echo" : "core.echo", [i]))
            .ToList();
        var handles = new List<AsyncResult>(count);
        foreach (var batch in calls.Chunk(BatchSize))
        {
            handles.AddRange(await app.Client.SendBatchAsync(batch, cancellationToken).ConfigureAwait(false));
        }
        var sent = clock.Elapsed;

        int correct = 0, wrongWorker = 0, failed = 0, timedOut = 0;
        var firstProblems = new List<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var outcome = await CheckAsync(calls[i], i, handles[i], deadline, ct).ConfigureAwait(false);
                switch (outcome.Kind)
                {
                    case Outcome.Correct: Interlocked.Increment(ref correct); return;
                    case Outcome.WrongWorker: Interlocked.Increment(ref wrongWorker); break;
                    case Outcome.TimedOut: Interlocked.Increment(ref timedOut); break;
                    default: Interlocked.Increment(ref failed); break;
                }
                lock (firstProblems)
                {
                    if (firstProblems.Count < 10) firstProblems.Add($"{calls[i].Name}({i}) [{handles[i].Id}]: {outcome.Detail}");
                }
            }).ConfigureAwait(false);

        foreach (var problem in firstProblems) await Console.Error.WriteLineAsync(problem).ConfigureAwait(false);
        Console.WriteLine($"{count} sent, {correct} correct, {wrongWorker} wrong-worker, {failed} failed, {timedOut} timed-out " +
            $"(sent in {sent.TotalSeconds:0.00} s, all done in {clock.Elapsed.TotalSeconds:0.00} s)");
        return correct == count ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static async Task<(Outcome Kind, string Detail)> CheckAsync(TaskCall call, int n, AsyncResult handle, long deadline, CancellationToken cancellationToken)
    {
        var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
        TaskResult result;
        try
        {
            result = await handle.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            return (Outcome.TimedOut, ex.Message);
        }
        if (result.State != TaskState.Success) return (Outcome.Failed, $"{result.State.ToWire()}: {result.Exception}");
        if (result.Result is not JsonObject value || value["n"]?.GetValue<int>() != n || value["worker"]?.GetValue<string>() != result.Worker)
        {
            return (Outcome.Failed, $"wrong value {result.Result?.ToJsonString()} (worker {result.Worker})");
        }
        var onCustomersWorker = result.Worker?.StartsWith(CustomersWorkerPrefix, StringComparison.Ordinal) == true;
        var wantCustomersWorker = call.Name.StartsWith("customers.", StringComparison.Ordinal);
        return onCustomersWorker == wantCustomersWorker ? (Outcome.Correct, "") : (Outcome.WrongWorker, $"ran on {result.Worker}");
    }

    private enum Outcome { Correct, WrongWorker, Failed, TimedOut }
}
