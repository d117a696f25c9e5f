using System.Text.Json.Nodes;
using Fennel.Dashboard.History;
using Fennel.Events;
using Fennel.Monitoring;
using Microsoft.Extensions.Time.Testing;
using static Fennel.Dashboard.Tests.History.Events;

namespace Fennel.Dashboard.Tests.History;

/// <summary>The history and the in-memory cluster state fold events the same way (TaskFold, WorkerFold): issue 15.</summary>
public sealed class OneFoldTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    [Fact]
    public async Task The_history_and_the_cluster_state_hold_the_same_tasks_and_workers_after_the_same_events()
    {
        var clock = new FakeTimeProvider(T0);
        var state = new ClusterState(timeProvider: clock);
        await using var store = await TaskHistoryStore.OpenAsync(new TaskHistoryOptions { Path = folder.NewFilePath("history.db") }, clock);
        CeleryEvent[][] steps =
        [
            [new WorkerOnlineEvent { Hostname = "w1@host", Timestamp = At(T0), Freq = 2, Pid = 7, SoftwareIdentity = "py-celery", Active = 0 }],
            [Started("t1", T0.AddSeconds(1)), Succeeded("t1", T0.AddSeconds(2))],
            [Received("t1", T0, name: "tasks.late", args: "(7,)")], // late: fills in the description only
            [Sent("t1", T0.AddMilliseconds(-5), queue: "q1", args: null)], // late too: adds its fields
            [new WorkerHeartbeatEvent { Hostname = "w2@host", Timestamp = At(T0.AddSeconds(3)), Freq = 5, Processed = 3 }],
            [new WorkerOfflineEvent { Hostname = "w1@host", Timestamp = At(T0.AddSeconds(3)) }],
            [Failed("t2", T0.AddSeconds(5)), Received("t2", T0.AddSeconds(4))], // after worker-offline: no heartbeat
            [Retried("t3", T0.AddSeconds(5), worker: "w2@host"), Received("t3", T0.AddSeconds(6), worker: "w2@host")],
            [new UnknownEvent { EventType = "task-progress", Hostname = "w2@host", Timestamp = At(T0.AddSeconds(7)), Extra = new JsonObject { ["uuid"] = "t3" } }],
        ];
        foreach (var step in steps)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            state.Apply(step);
            await store.AppendAsync(step);
            await store.FlushAsync();
        }

        foreach (var id in new[] { "t1", "t2", "t3" })
        {
            var held = state.GetTask(id)!;
            Assert.Equal(held.EventCount, held.Timeline.Count);
            Assert.Equal(held with { Timeline = [] }, (await store.GetTaskAsync(id))!.Task);
        }
        Assert.Equal(("SUCCESS", "(7,)", "q1"), (state.GetTask("t1")!.State, state.GetTask("t1")!.Args, state.GetTask("t1")!.Queue));
        Assert.Equal("PROGRESS", state.GetTask("t3")!.State);

        var stored = await store.GetWorkersAsync();
        foreach (var held in state.Snapshot().Workers)
        {
            // The file keeps no sender times or UTC offsets for workers.
            Assert.Equal(held with { LastEventTime = null, UtcOffset = null }, Assert.Single(stored, w => w.Hostname == held.Hostname));
        }
        Assert.Equal([("w1@host", false, true), ("w2@host", true, false)], stored.Select(w => (w.Hostname, w.IsOnline, w.SaidOffline)));
    }
}
