using System.Text;
using Fennel.Events;
using Fennel.Monitoring;
using Fennel.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Fennel.Tests.Monitoring;

public class ClusterStateTests
{
    private const string Worker = "w1@host";
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static double At(double seconds) => Start.ToUnixTimeMilliseconds() / 1000.0 + seconds;

    private static TaskReceivedEvent Received(string id, double t, string name = "tasks.add") =>
        new() { Hostname = Worker, Timestamp = At(t), TaskId = id, Name = name, Args = "(2, 3)", Kwargs = "{}", Retries = 0, RootId = "root", ParentId = "parent" };

    private static TaskStartedEvent Started(string id, double t) => new() { Hostname = Worker, Timestamp = At(t), TaskId = id };

    private static TaskSucceededEvent Succeeded(string id, double t) => new() { Hostname = Worker, Timestamp = At(t), TaskId = id, Result = "5", Runtime = 0.25 };

    private static TaskFailedEvent Failed(string id, double t) =>
        new() { Hostname = Worker, Timestamp = At(t), TaskId = id, Exception = "ValueError('boom')", Traceback = "Traceback ..." };

    private static TaskRetriedEvent Retried(string id, double t) => new() { Hostname = Worker, Timestamp = At(t), TaskId = id, Exception = "Retry()" };

    private static WorkerHeartbeatEvent Heartbeat(double t, double freq = 2) =>
        new() { Hostname = Worker, Timestamp = At(t), Freq = freq, Active = 1, Processed = 7, LoadAverage = [0.1, 0.2, 0.3], SoftwareIdentity = "py-celery", SoftwareVersion = "5.2.6", SoftwareSystem = "Linux", Pid = 42 };

    [Fact]
    public void A_task_gathers_its_fields_and_a_timeline_in_event_order()
    {
        var state = new ClusterState(timeProvider: new FakeTimeProvider(Start));
        state.Apply([
            new TaskSentEvent { Hostname = "gen1@host", Timestamp = At(0), TaskId = "t1", Name = "tasks.add", Queue = "celery" },
            Received("t1", 1), Started("t1", 2), Succeeded("t1", 3)]);

        var task = state.GetTask("t1")!;
        Assert.Equal("SUCCESS", task.State);
        Assert.Equal("tasks.add", task.Name);
        Assert.Equal("(2, 3)", task.Args);
        Assert.Equal("{}", task.Kwargs);
        Assert.Equal("5", task.Result);
        Assert.Equal(0.25, task.Runtime);
        Assert.Equal("celery", task.Queue);
        Assert.Equal("gen1@host", task.Client);
        Assert.Equal(Worker, task.Worker);
        Assert.Equal(("root", "parent"), (task.RootId, task.ParentId));
        Assert.Equal(["task-sent", "task-received", "task-started", "task-succeeded"], task.Timeline.Select(e => e.Type));
        Assert.Equal(Start.AddSeconds(3), task.StateTime);
        Assert.True(task.IsFinished);
    }

    [Fact]
    public void Out_of_order_events_do_not_move_a_task_backwards_but_fill_in_its_description()
    {
        var state = new ClusterState(timeProvider: new FakeTimeProvider(Start));
        // The batch carrying task-succeeded arrives before the one carrying task-received and task-started.
        state.Apply([Succeeded("t1", 3), Received("t1", 1), Started("t1", 2)]);

        var task = state.GetTask("t1")!;
        Assert.Equal("SUCCESS", task.State);
        Assert.Equal(Start.AddSeconds(3), task.StateTime);
        Assert.Equal("tasks.add", task.Name); // from the late task-received
        Assert.Equal("5", task.Result);
        Assert.Equal(["task-received", "task-started", "task-succeeded"], task.Timeline.Select(e => e.Type));
    }

    [Fact]
    public void A_late_started_does_not_undo_a_failure_and_a_retry_starts_the_task_over()
    {
        var state = new ClusterState(timeProvider: new FakeTimeProvider(Start));
        state.Apply([Received("t1", 1), Failed("t1", 3), Started("t1", 2)]);
        Assert.Equal("FAILURE", state.GetTask("t1")!.State);
        Assert.Equal("ValueError('boom')", state.GetTask("t1")!.Exception);

        state.Apply([Received("t2", 1), Started("t2", 2), Retried("t2", 3), Received("t2", 4)]);
        Assert.Equal("RECEIVED", state.GetTask("t2")!.State); // RETRY is never "before": the next delivery moves it on
        Assert.False(state.GetTask("t2")!.IsFinished);
    }

    [Fact]
    public void A_custom_task_event_sets_a_custom_state_that_ranks_above_started()
    {
        var state = new ClusterState(timeProvider: new FakeTimeProvider(Start));
        state.Apply([Started("t1", 1)]);
        state.Apply(CeleryEventCodec.DecodeBody(Encoding.UTF8.GetBytes("""{"type": "task-progress", "hostname": "w1@host", "uuid": "t1", "timestamp": 1795607917.5}""")));
        Assert.Equal("PROGRESS", state.GetTask("t1")!.State);
        state.Apply([Started("t1", 2)]);
        Assert.Equal("PROGRESS", state.GetTask("t1")!.State);
    }

    [Fact]
    public void A_worker_is_online_until_its_heartbeat_window_passes()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new ClusterState(new ClusterStateOptions { HeartbeatExpiryFactor = 2 }, clock);
        state.Apply(Heartbeat(0, freq: 2));

        var worker = state.GetWorker(Worker)!;
        Assert.True(worker.IsOnline);
        Assert.Equal((2.0, 1, 7L, 42, "py-celery", "5.2.6", "Linux"),
            (worker.Freq, worker.Active, worker.Processed, worker.Pid, worker.SoftwareIdentity, worker.SoftwareVersion, worker.SoftwareSystem));
        Assert.Equal([0.1, 0.2, 0.3], worker.LoadAverage!);

        clock.SetUtcNow(Start.AddSeconds(3.9));
        Assert.True(state.GetWorker(Worker)!.IsOnline);
        clock.SetUtcNow(Start.AddSeconds(4));
        Assert.False(state.GetWorker(Worker)!.IsOnline); // 2 s × 2 without a word
        Assert.False(state.Snapshot().Workers.Single().IsOnline);

        state.Apply(Heartbeat(4));
        Assert.True(state.GetWorker(Worker)!.IsOnline);
    }

    [Fact]
    public void Task_events_from_a_worker_count_as_heartbeats()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new ClusterState(timeProvider: clock);
        state.Apply(Heartbeat(0, freq: 2));
        clock.SetUtcNow(Start.AddSeconds(3));
        state.Apply(Started("t1", 3));
        clock.SetUtcNow(Start.AddSeconds(6));
        Assert.True(state.GetWorker(Worker)!.IsOnline);
    }

    [Fact]
    public void Worker_offline_takes_a_worker_offline_at_once_and_a_heartbeat_brings_it_back()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new ClusterState(timeProvider: clock);
        state.Apply(Heartbeat(0));
        clock.SetUtcNow(Start.AddSeconds(1));
        state.Apply(new WorkerOfflineEvent { Hostname = Worker, Timestamp = At(1), Freq = 2 });

        var worker = state.GetWorker(Worker)!;
        Assert.False(worker.IsOnline);
        Assert.Null(worker.LastHeartbeat);
        Assert.Equal(Start.AddSeconds(1), worker.OfflineAt);

        state.Apply(new WorkerOnlineEvent { Hostname = Worker, Timestamp = At(2), Freq = 2 });
        Assert.True(state.GetWorker(Worker)!.IsOnline);
    }

    [Fact]
    public void A_task_finished_after_worker_offline_does_not_bring_the_worker_back_online()
    {
        // Celery's warm shutdown: worker-offline first, then the running task ends and says so.
        var clock = new FakeTimeProvider(Start);
        var state = new ClusterState(timeProvider: clock);
        state.Apply([Heartbeat(0), Received("t1", 0.5), Started("t1", 0.5)]);
        clock.SetUtcNow(Start.AddSeconds(1));
        state.Apply(new WorkerOfflineEvent { Hostname = Worker, Timestamp = At(1), Freq = 2 });
        clock.SetUtcNow(Start.AddSeconds(3));
        state.Apply(Succeeded("t1", 3));

        var worker = state.GetWorker(Worker)!;
        Assert.False(worker.IsOnline);
        Assert.Null(worker.LastHeartbeat);
        Assert.Equal(Start.AddSeconds(3), worker.LastEventTime);
        Assert.Equal("SUCCESS", state.GetTask("t1")!.State);
        Assert.Equal(Worker, state.GetTask("t1")!.Worker);

        // Started again under the same name: worker-online (or a heartbeat) brings it back, and its task events count again.
        clock.SetUtcNow(Start.AddSeconds(5));
        state.Apply(new WorkerOnlineEvent { Hostname = Worker, Timestamp = At(5), Freq = 2 });
        clock.SetUtcNow(Start.AddSeconds(8));
        state.Apply(Received("t2", 8));
        Assert.Equal(Start.AddSeconds(8), state.GetWorker(Worker)!.LastHeartbeat);
        Assert.True(state.GetWorker(Worker)!.IsOnline);
    }

    [Fact]
    public void Past_the_task_bound_the_task_finished_longest_ago_goes_first_then_the_oldest_unfinished()
    {
        var state = new ClusterState(new ClusterStateOptions { MaxTasks = 3 }, new FakeTimeProvider(Start));
        state.Apply([Received("a", 1), Received("b", 2), Received("c", 3), Succeeded("c", 4), Succeeded("b", 5)]);
        state.Apply(Received("d", 6)); // c finished before b: c goes
        Assert.Equal(["a", "b", "d"], Ids(state));
        state.Apply(Received("e", 7)); // b is the only finished task
        Assert.Equal(["a", "d", "e"], Ids(state));
        state.Apply(Received("f", 8)); // none finished: the oldest, a
        Assert.Equal(["d", "e", "f"], Ids(state));
        Assert.Equal(3, state.TaskCount);

        static string[] Ids(ClusterState s) => [.. s.Snapshot().Tasks.Select(t => t.Id).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void Past_the_worker_bound_an_offline_worker_goes_first()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new ClusterState(new ClusterStateOptions { MaxWorkers = 2 }, clock);
        state.Apply(Heartbeat(0) with { Hostname = "old@host" });
        clock.SetUtcNow(Start.AddSeconds(1));
        state.Apply(Heartbeat(1) with { Hostname = "gone@host" });
        state.Apply(new WorkerOfflineEvent { Hostname = "gone@host", Timestamp = At(1) });
        state.Apply(Heartbeat(1) with { Hostname = "new@host" });
        Assert.Equal(["new@host", "old@host"], state.Snapshot().Workers.Select(w => w.Hostname));

        clock.SetUtcNow(Start.AddSeconds(2));
        state.Apply(Heartbeat(2) with { Hostname = "newer@host" }); // all online: the one heard from longest ago goes
        Assert.Equal(["new@host", "newer@host"], state.Snapshot().Workers.Select(w => w.Hostname));
    }

    [Fact]
    public void A_timeline_keeps_only_the_latest_entries()
    {
        var state = new ClusterState(new ClusterStateOptions { MaxTimelineEntries = 3 }, new FakeTimeProvider(Start));
        for (var i = 0; i < 10; i++) state.Apply(i % 2 == 0 ? Received("t1", i) : Retried("t1", i));
        var timeline = state.GetTask("t1")!.Timeline;
        Assert.Equal(3, timeline.Count);
        Assert.Equal([Start.AddSeconds(7), Start.AddSeconds(8), Start.AddSeconds(9)], timeline.Select(e => e.Time));
    }

    [Fact]
    public void A_snapshot_does_not_change_when_events_arrive_after_it()
    {
        var state = new ClusterState(timeProvider: new FakeTimeProvider(Start));
        state.Apply(Received("t1", 1));
        var before = state.Snapshot();
        state.Apply([Succeeded("t1", 2), Received("t2", 3)]);
        Assert.Equal("RECEIVED", Assert.Single(before.Tasks).State);
        Assert.Equal(1, before.EventCount);
        Assert.Equal(3, state.Snapshot().EventCount);
    }

    [Fact]
    public void Readers_take_snapshots_while_one_writer_applies_events()
    {
        var state = new ClusterState(new ClusterStateOptions { MaxTasks = 200 }, new FakeTimeProvider(Start));
        using var done = new CancellationTokenSource();
        using var started = new CountdownEvent(4);
        // Dedicated threads: the pool may be busy with other tests.
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
        {
            var snapshots = 0;
            started.Signal();
            while (!done.IsCancellationRequested)
            {
                var s = state.Snapshot();
                Assert.True(s.Tasks.Count <= 200);
                Assert.All(s.Tasks, t => Assert.NotEmpty(t.Timeline));
                snapshots++;
            }
            return snapshots;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "the readers did not start");
        for (var i = 0; i < 1_000; i++) state.Apply([Received($"t{i}", i), Succeeded($"t{i}", i + 0.5)]);
        done.Cancel();
        Assert.All(readers, r => Assert.True(r.Result > 0));
        Assert.Equal(200, state.TaskCount);
        Assert.Equal(2_000, state.Snapshot().EventCount);
    }

    [Fact]
    public void The_captured_redis_session_builds_a_state_with_its_worker_and_finished_tasks()
    {
        var clock = new FakeTimeProvider(Start);
        var state = new ClusterState(timeProvider: clock);
        var messages = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(CeleryVectors.Root, "events", "redis", "_all_pubsub_messages.json")))!.AsArray();
        foreach (var message in messages)
        {
            if (!message!["channel"]!.GetValue<string>().StartsWith("/3.celeryev/", StringComparison.Ordinal)) continue;
            clock.SetUtcNow(DateTimeOffset.FromUnixTimeMilliseconds((long)(message["ts"]!.GetValue<double>() * 1000)));
            var envelope = Fennel.Protocol.KombuEnvelope.Decode(Encoding.UTF8.GetBytes(message["data"]!.GetValue<string>()));
            state.Apply(CeleryEventCodec.DecodeBody(envelope.Body));
        }
        var snapshot = state.Snapshot();
        var worker = Assert.Single(snapshot.Workers, w => w.Hostname == "capture@vm");
        Assert.False(worker.IsOnline); // the session ends with worker-offline
        Assert.Equal("py-celery", worker.SoftwareIdentity);
        Assert.Contains(snapshot.Tasks, t => t.State == "SUCCESS" && t.Name is not null);
        Assert.Contains(snapshot.Tasks, t => t.State == "FAILURE" && t.Exception == "ValueError('boom')");
        Assert.All(snapshot.Tasks.Where(t => t.State == "SUCCESS"), t => Assert.Equal("task-succeeded", t.Timeline[^1].Type));
    }

    [Fact]
    public void Options_that_cannot_work_are_refused_with_the_option_named()
    {
        var e = Assert.Throws<FennelConfigurationException>(() => new ClusterState(new ClusterStateOptions { MaxTasks = 0 }));
        Assert.Contains("MaxTasks", e.Message, StringComparison.Ordinal);
        Assert.Throws<FennelConfigurationException>(() => new ClusterState(new ClusterStateOptions { HeartbeatExpiryFactor = double.NaN }));
    }
}
