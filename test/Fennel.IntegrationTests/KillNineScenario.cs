using System.Diagnostics;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Results;
using Xunit.Abstractions;

namespace Fennel.IntegrationTests;

/// <summary>
/// kill -9 a worker with 1,000 tasks queued and 50 running, on any broker: a second worker runs everything, nothing is
/// lost, and only tasks that were running unacknowledged on the first run twice.
/// </summary>
internal static class KillNineScenario
{
    /// <param name="sandbox">The broker and the journal.</param>
    /// <param name="startWorker">Starts a worker process: (display name, node name, concurrency).</param>
    /// <param name="output">Where the figures go.</param>
    public static async Task RunAsync(IntegrationSandbox sandbox, Func<string, string, int, ChildProcess> startWorker, ITestOutputHelper output)
    {
        const int count = 1000, concurrency = 50;
        var handles = await sandbox.App.Client.SendBatchAsync([.. Enumerable.Range(0, count).Select(i => new TaskCall("test.slow", [i, 400]))]);
        var a = startWorker("worker A", "a.%h", concurrency);
        await Eventually.HoldsAsync(() => sandbox.ReadJournal().Started(a.Id).Count >= concurrency,
            () => $"worker A to start {concurrency} tasks.\n{a.Describe()}", TimeSpan.FromSeconds(60));

        a.Signal(ChildProcess.SigKill);
        await a.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var journal = sandbox.ReadJournal();
        var (startedByA, endedByA) = (journal.Started(a.Id), journal.Ended(a.Id));
        var unacknowledged = await sandbox.ReadUnacknowledgedTaskIdsAsync();

        var clock = Stopwatch.StartNew();
        var b = startWorker("worker B", "b.%h", concurrency);
        await WaitForSlowTasksAsync(sandbox, handles, TimeSpan.FromSeconds(120));

        journal = sandbox.ReadJournal();
        var starts = journal.StartCounts();
        var lost = handles.Select(h => h.Id).Where(id => !starts.ContainsKey(id)).ToList();
        var duplicates = starts.Where(s => s.Value > 1).Select(s => s.Key).ToList();
        var running = startedByA.Except(endedByA).Count();
        output.WriteLine($"kill -9: A started {startedByA.Count} ({running} running at the kill), left {unacknowledged.Count} unacknowledged; " +
            $"B ran {journal.Started(b.Id).Count} in {clock.Elapsed.TotalSeconds:0.0} s; duplicates {duplicates.Count}; lost {lost.Count}.");
        Assert.True(lost.Count == 0, $"{lost.Count} tasks never ran: {string.Join(", ", lost.Take(10))}.");
        Assert.True(duplicates.All(id => startedByA.Contains(id) && unacknowledged.Contains(id) && starts[id] == 2),
            "A task ran twice that A had not been running unacknowledged when it died.");
        Assert.True(duplicates.Count <= concurrency, $"{duplicates.Count} duplicates; at most the {concurrency} running may repeat.");
    }

    /// <summary>Waits for every <c>test.slow(i)</c> call, in order, and checks each returned <c>i</c>.</summary>
    public static async Task WaitForSlowTasksAsync(IntegrationSandbox sandbox, IReadOnlyList<AsyncResult> handles, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        for (var i = 0; i < handles.Count; i++)
        {
            var remaining = deadline - DateTime.UtcNow;
            TaskResult result;
            try
            {
                result = await handles[i].WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"Only {i} of {handles.Count} tasks were done: {e.Message}\n{sandbox.DescribeProcesses()}", e);
            }
            Assert.True(result.State == TaskState.Success && JsonNode.DeepEquals(result.Result, JsonValue.Create(i)),
                $"test.slow({i}) ended {result.State.ToWire()}.");
        }
    }
}
