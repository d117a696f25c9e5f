using System.Diagnostics;
using Fennel.Dashboard.History;
using Fennel.Events;
using Xunit.Abstractions;
using static Fennel.Dashboard.Tests.History.Events;

namespace Fennel.Dashboard.Tests.History;

public sealed class TaskHistoryThroughputTests(TemporaryFolder folder, ITestOutputHelper output) : IClassFixture<TemporaryFolder>
{
    [Fact]
    public async Task A_burst_of_20_000_events_is_applied_in_a_few_seconds()
    {
        await using var store = await TaskHistoryStore.OpenAsync(new TaskHistoryOptions { Path = folder.NewFilePath("history.db") });
        // 5 000 tasks of 4 events each, arriving as workers send them: in task.multi batches of 100, interleaved.
        var events = Enumerable.Range(0, 5_000).SelectMany(i => Lifecycle($"task-{i:00000}", T0.AddMilliseconds(i), $"tasks.t{i % 20}", $"w{i % 4}@host")).ToArray();
        var stopwatch = Stopwatch.StartNew();
        foreach (var chunk in events.Chunk(100)) await store.AppendAsync(chunk);
        await store.FlushAsync();
        stopwatch.Stop();

        var rate = events.Length / stopwatch.Elapsed.TotalSeconds;
        output.WriteLine($"Applied {events.Length} events in {stopwatch.Elapsed.TotalMilliseconds:F0} ms: {rate:F0} events/s");
        Assert.Equal(5_000, (await store.CountByStateAsync())["SUCCESS"]);
        Assert.Equal(20_000, (await store.GetThroughputAsync(60 * 24 * 365 * 10)).Sum(b => b.Count));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"20 000 events took {stopwatch.Elapsed}; expected a few seconds ({rate:F0} events/s).");

        // Reading while it is full stays fast enough for a page view: a filtered, searched page with its total.
        stopwatch.Restart();
        var page = await store.QueryTasksAsync(new TaskQuery { Name = "tasks.t7", Search = "task-0", SortBy = TaskSortField.Runtime });
        output.WriteLine($"A filtered, searched page of {page.Tasks.Count} (of {page.Total}) took {stopwatch.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal(250, page.Total);
    }
}
