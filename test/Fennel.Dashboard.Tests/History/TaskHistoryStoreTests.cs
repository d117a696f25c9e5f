using System.Text.Json.Nodes;
using Fennel.Dashboard.History;
using Fennel.Events;
using Fennel.Monitoring;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using static Fennel.Dashboard.Tests.History.Events;

namespace Fennel.Dashboard.Tests.History;

public sealed class TaskHistoryStoreTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    private readonly FakeTimeProvider _clock = new(T0);

    private Task<TaskHistoryStore> OpenAsync(string? path = null, Action<TaskHistoryOptions>? configure = null)
    {
        var options = new TaskHistoryOptions { Path = path ?? folder.NewFilePath("history.db") };
        configure?.Invoke(options);
        return TaskHistoryStore.OpenAsync(options, _clock);
    }

    private static async Task AppendAsync(TaskHistoryStore store, params CeleryEvent[] events)
    {
        await store.AppendAsync(events);
        await store.FlushAsync();
    }

    [Fact]
    public async Task A_late_received_does_not_undo_success_but_fills_in_the_description()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store, Started("t1", T0.AddSeconds(1)), Succeeded("t1", T0.AddSeconds(2)));
        await AppendAsync(store, Received("t1", T0, name: "tasks.late", args: "(7,)"));

        var task = (await store.GetTaskAsync("t1"))!.Task;
        Assert.Equal("SUCCESS", task.State);
        Assert.Equal(T0.AddSeconds(2), task.StateTime);
        Assert.Equal("tasks.late", task.Name);
        Assert.Equal("(7,)", task.Args);
        Assert.Equal(T0, task.ReceivedAt);
        Assert.Equal(T0.AddSeconds(2), task.FinishedAt);
        Assert.Equal("5", task.Result);
    }

    [Fact]
    public async Task Precedence_holds_within_one_batch_too()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store, Failed("t1", T0.AddSeconds(2)), Started("t1", T0.AddSeconds(1)), Received("t1", T0));
        Assert.Equal("FAILURE", (await store.GetTaskAsync("t1"))!.Task.State);
    }

    [Fact]
    public async Task A_retried_task_starts_over()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store, Received("t1", T0), Started("t1", T0.AddSeconds(1)), Retried("t1", T0.AddSeconds(2)));
        Assert.Equal("RETRY", (await store.GetTaskAsync("t1"))!.Task.State);
        await AppendAsync(store, Received("t1", T0.AddSeconds(3)), Started("t1", T0.AddSeconds(4)));
        var task = (await store.GetTaskAsync("t1"))!.Task;
        Assert.Equal("STARTED", task.State);
        Assert.Equal(T0.AddSeconds(4), task.StartedAt);
        Assert.Equal("Retry('again')", task.Exception);
    }

    [Fact]
    public async Task The_timeline_is_in_sender_time_order_whatever_the_arrival_order()
    {
        await using var store = await OpenAsync();
        var events = Lifecycle("t1", T0);
        await AppendAsync(store, events[3], events[1]);
        await AppendAsync(store, events[2], events[0]);

        var detail = (await store.GetTaskAsync("t1"))!;
        Assert.Equal(["task-sent", "task-received", "task-started", "task-succeeded"], detail.Timeline.Select(e => e.Type));
        Assert.Equal(events.Select(e => e.Time), detail.Timeline.Select(e => e.Time));
        Assert.Equal("gen1@client", detail.Timeline[0].Hostname);
        Assert.Equal(T0, detail.Timeline[0].ReceivedAt);
        Assert.Equal("SUCCESS", detail.Task.State);
    }

    [Fact]
    public async Task The_timeline_keeps_the_newest_entries_up_to_the_bound()
    {
        await using var store = await OpenAsync(configure: o => o.MaxTimelineEntries = 3);
        for (var i = 0; i < 5; i++) await AppendAsync(store, Received("t1", T0.AddSeconds(2 * i)), Retried("t1", T0.AddSeconds((2 * i) + 1)));
        var detail = (await store.GetTaskAsync("t1"))!;
        Assert.Equal([T0.AddSeconds(7), T0.AddSeconds(8), T0.AddSeconds(9)], detail.Timeline.Select(e => e.Time));
    }

    [Fact]
    public async Task All_fields_of_a_task_are_stored()
    {
        await using var store = await OpenAsync();
        var sent = Sent("t1", T0, "tasks.mul", "math", "(6, 7)", "{'x': 1}", parent: "p1") with
        {
            Retries = 2, Eta = "2026-11-25T12:05:00+00:00", Expires = "2026-11-26T00:00:00+00:00", RoutingKey = "math.mul",
        };
        await AppendAsync(store, sent, Received("t1", T0.AddSeconds(1)), Started("t1", T0.AddSeconds(2)), Succeeded("t1", T0.AddSeconds(4), result: "42", runtime: 2));

        var task = (await store.GetTaskAsync("t1"))!.Task;
        Assert.Equal(("tasks.add", "math", "math.mul", "w1@host", "gen1@client"), (task.Name, task.Queue, task.RoutingKey, task.Worker, task.Client));
        Assert.Equal(("(2, 3)", "{}", "42", 2.0, 2), (task.Args, task.Kwargs, task.Result, task.Runtime, task.Retries));
        Assert.Equal(("p1", "p1", "2026-11-25T12:05:00+00:00", "2026-11-26T00:00:00+00:00"), (task.ParentId, task.RootId, task.Eta, task.Expires));
        Assert.Equal((T0, T0, T0.AddSeconds(1), T0.AddSeconds(2), T0.AddSeconds(4)), (task.SeenAt, task.SentAt, task.ReceivedAt, task.StartedAt, task.FinishedAt));
        Assert.True(task.IsFinished);
    }

    [Fact]
    public async Task Failures_and_revokes_keep_exception_traceback_and_flags()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store, Failed("f1", T0),
            new TaskRevokedEvent { TaskId = "r1", Hostname = "w1@host", Timestamp = At(T0), Terminated = true, Signum = 15, Expired = false });
        var failed = (await store.GetTaskAsync("f1"))!.Task;
        Assert.Equal(("FAILURE", "ValueError('boom')"), (failed.State, failed.Exception));
        Assert.StartsWith("Traceback", failed.Traceback, StringComparison.Ordinal);
        var revoked = (await store.GetTaskAsync("r1"))!.Task;
        Assert.Equal(("REVOKED", true, false), (revoked.State, revoked.Terminated, revoked.Expired));
    }

    [Fact]
    public async Task Reopening_the_file_gives_the_same_history()
    {
        var path = folder.NewFilePath("history.db");
        TaskDetail before;
        IReadOnlyList<WorkerInfo> workersBefore;
        IReadOnlyList<ThroughputBucket> throughputBefore;
        await using (var store = await OpenAsync(path))
        {
            await store.AppendAsync([.. Lifecycle("t1", T0), .. Lifecycle("t2", T0.AddSeconds(1)),
                new WorkerOnlineEvent { Hostname = "w1@host", Timestamp = At(T0), Freq = 2, Pid = 42, SoftwareIdentity = "py-celery", LoadAverage = [0.5, 0.25, 0.1] }]);
            await store.FlushAsync();
            before = (await store.GetTaskAsync("t1"))!;
            workersBefore = await store.GetWorkersAsync();
            throughputBefore = await store.GetThroughputAsync(10);
        }
        await using (var store = await OpenAsync(path))
        {
            var after = (await store.GetTaskAsync("t1"))!;
            Assert.Equal(before.Task, after.Task);
            Assert.Equal(before.Timeline, after.Timeline);
            Assert.Equal(workersBefore.Select(w => w with { LoadAverage = null }), (await store.GetWorkersAsync()).Select(w => w with { LoadAverage = null }));
            Assert.Equal([0.5, 0.25, 0.1], (await store.GetWorkersAsync())[0].LoadAverage);
            Assert.Equal(throughputBefore, await store.GetThroughputAsync(10));
            Assert.Equal(2, (await store.QueryTasksAsync(new TaskQuery())).Total);

            // Applying more after the restart continues from the stored state (precedence and timeline included).
            await AppendAsync(store, Received("t1", T0.AddSeconds(-5)));
            var t1 = (await store.GetTaskAsync("t1"))!;
            Assert.Equal("SUCCESS", t1.Task.State);
            Assert.Equal(5, t1.Timeline.Count);
            Assert.Equal("task-received", t1.Timeline[0].Type);
        }
    }

    [Fact]
    public async Task A_file_from_a_newer_version_is_refused()
    {
        var path = folder.NewFilePath("history.db");
        await (await OpenAsync(path)).DisposeAsync();
        await using (var connection = new SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99;";
            await command.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        var error = await Assert.ThrowsAsync<FennelConfigurationException>(() => OpenAsync(path));
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trimming_by_count_keeps_the_most_recently_updated_tasks_and_drops_their_timelines()
    {
        var path = folder.NewFilePath("history.db");
        await using var store = await OpenAsync(path, o => o.MaxTasks = 10);
        for (var i = 0; i < 25; i++)
        {
            _clock.SetUtcNow(T0.AddSeconds(i));
            await AppendAsync(store, Lifecycle($"t{i:00}", T0.AddSeconds(i)));
        }
        await store.TrimAsync();

        var page = await store.QueryTasksAsync(new TaskQuery { Limit = 100 });
        Assert.Equal(10, page.Total);
        Assert.Equal(Enumerable.Range(15, 10).Select(i => $"t{i:00}"), page.Tasks.Select(t => t.Id).Order());
        Assert.Null(await store.GetTaskAsync("t00"));
        Assert.Equal(40, await CountRowsAsync(path, "task_events"));
    }

    [Fact]
    public async Task Trimming_by_age_drops_old_tasks_throughput_and_workers()
    {
        var path = folder.NewFilePath("history.db");
        await using var store = await OpenAsync(path, o => o.MaxAge = TimeSpan.FromHours(1));
        await AppendAsync(store, Lifecycle("old", T0));
        _clock.SetUtcNow(T0.AddHours(2));
        await AppendAsync(store, Lifecycle("new", T0.AddHours(2), worker: "w2@host"));
        await store.TrimAsync();

        Assert.Null(await store.GetTaskAsync("old"));
        Assert.NotNull(await store.GetTaskAsync("new"));
        Assert.Equal(["w2@host"], (await store.GetWorkersAsync()).Select(w => w.Hostname));
        Assert.All(await store.GetThroughputAsync(24 * 60), b => Assert.Equal(T0.AddHours(2), b.Minute));
        Assert.Equal(4, await CountRowsAsync(path, "task_events"));
    }

    [Fact]
    public async Task The_writer_trims_in_the_background()
    {
        await using var store = await OpenAsync(configure: o => { o.MaxTasks = 5; o.TrimInterval = TimeSpan.FromMilliseconds(100); });
        await store.AppendAsync(Enumerable.Range(0, 20).SelectMany(i => Lifecycle($"t{i}", T0.AddSeconds(i))));
        // The trim timer runs on the store's clock: until it moves, all 20 tasks stay.
        await Eventually.HoldsAsync(async () => (await store.QueryTasksAsync(new TaskQuery())).Total == 20, "the 20 tasks written");
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        await Eventually.HoldsAsync(async () => (await store.QueryTasksAsync(new TaskQuery())).Total == 5,
            "the background trim to bring the history down to MaxTasks");
    }

    [Fact]
    public async Task Children_are_the_tasks_whose_parent_it_is()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store, [.. Lifecycle("parent", T0), Sent("c2", T0.AddSeconds(2), parent: "parent"), Sent("c1", T0.AddSeconds(1), parent: "parent"),
            Sent("other", T0.AddSeconds(1), parent: "someone-else")]);
        var detail = (await store.GetTaskAsync("parent"))!;
        Assert.Equal(["c1", "c2"], detail.Children.Select(c => c.Id));
        Assert.Empty((await store.GetTaskAsync("c1"))!.Children);
        Assert.Null(await store.GetTaskAsync("missing"));
    }

    [Fact]
    public async Task Throughput_counts_events_per_minute_and_state_over_the_window()
    {
        await using var store = await OpenAsync();
        _clock.SetUtcNow(T0.AddSeconds(10));
        await AppendAsync(store, [.. Lifecycle("a", T0), .. Lifecycle("b", T0)]);
        _clock.SetUtcNow(T0.AddMinutes(1).AddSeconds(30));
        await AppendAsync(store, Lifecycle("c", T0.AddMinutes(1)));
        await AppendAsync(store, Failed("d", T0.AddMinutes(1)));
        _clock.SetUtcNow(T0.AddMinutes(3));

        var all = await store.GetThroughputAsync(10);
        Assert.Contains(new ThroughputBucket(T0, "SUCCESS", 2), all);
        Assert.Contains(new ThroughputBucket(T0, "PENDING", 2), all);
        Assert.Contains(new ThroughputBucket(T0.AddMinutes(1), "SUCCESS", 1), all);
        Assert.Contains(new ThroughputBucket(T0.AddMinutes(1), "FAILURE", 1), all);
        Assert.Equal(8 + 5, all.Sum(b => b.Count));
        Assert.Equal(all.OrderBy(b => b.Minute).ThenBy(b => b.State, StringComparer.Ordinal), all);

        // The last 3 minutes (12:01, 12:02, 12:03) leave 12:00 out.
        Assert.All(await store.GetThroughputAsync(3), b => Assert.Equal(T0.AddMinutes(1), b.Minute));
    }

    [Fact]
    public async Task Totals_count_tasks_by_state()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store, [.. Lifecycle("a", T0), .. Lifecycle("b", T0), Failed("c", T0), Started("d", T0), Sent("e", T0)]);
        var totals = await store.CountByStateAsync();
        Assert.Equal(new Dictionary<string, long> { ["SUCCESS"] = 2, ["FAILURE"] = 1, ["STARTED"] = 1, ["PENDING"] = 1 }, totals);
    }

    [Fact]
    public async Task Workers_are_online_by_heartbeat_and_offline_after_goodbye_or_silence()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store,
            new WorkerOnlineEvent { Hostname = "w1@host", Timestamp = At(T0), Freq = 2, Pid = 7, SoftwareIdentity = "fennel", SoftwareVersion = "0.1", SoftwareSystem = "Linux" },
            new WorkerHeartbeatEvent { Hostname = "w1@host", Timestamp = At(T0), Freq = 2, Active = 3, Processed = 10, LoadAverage = [1, 2, 3] },
            new WorkerOnlineEvent { Hostname = "w2@host", Timestamp = At(T0), Freq = 2 });
        var workers = await store.GetWorkersAsync();
        var w1 = workers[0];
        Assert.Equal(("w1@host", true, 7, 3, 10L), (w1.Hostname, w1.IsOnline, w1.Pid, w1.Active, w1.Processed));
        Assert.Equal(("fennel", "0.1", "Linux", 2.0), (w1.SoftwareIdentity, w1.SoftwareVersion, w1.SoftwareSystem, w1.Freq));
        Assert.Equal([1.0, 2, 3], w1.LoadAverage);
        Assert.Equal((T0, T0), (w1.OnlineAt, w1.LastHeartbeat));

        _clock.SetUtcNow(T0.AddSeconds(3));
        await AppendAsync(store, new WorkerOfflineEvent { Hostname = "w2@host", Timestamp = At(_clock.GetUtcNow()) });
        workers = await store.GetWorkersAsync();
        Assert.True(workers[0].IsOnline);
        Assert.False(workers[1].IsOnline);
        Assert.Equal(T0.AddSeconds(3), workers[1].OfflineAt);

        _clock.SetUtcNow(T0.AddSeconds(5)); // w1's last heartbeat is now older than freq x 2
        Assert.False((await store.GetWorkersAsync())[0].IsOnline);

        // A task event is a sign of life too, but not after worker-offline: Celery says that when its warm shutdown
        // begins, then finishes its tasks. w2's next worker event brings it back.
        await AppendAsync(store, Started("t1", T0.AddSeconds(5), worker: "w2@host"));
        var w2 = (await store.GetWorkersAsync())[1];
        Assert.False(w2.IsOnline);
        Assert.Equal("w2@host", (await store.GetTaskAsync("t1"))!.Task.Worker);
        _clock.SetUtcNow(T0.AddSeconds(6));
        await AppendAsync(store, new WorkerHeartbeatEvent { Hostname = "w2@host", Timestamp = At(_clock.GetUtcNow()), Freq = 2 });
        w2 = (await store.GetWorkersAsync())[1];
        Assert.True(w2.IsOnline);
        Assert.Equal(T0.AddSeconds(6), w2.OnlineAt);

        // From then on its task events are heartbeats again.
        _clock.SetUtcNow(T0.AddSeconds(9));
        await AppendAsync(store, Started("t2", _clock.GetUtcNow(), worker: "w2@host"));
        w2 = (await store.GetWorkersAsync())[1];
        Assert.True(w2.IsOnline);
        Assert.Equal(T0.AddSeconds(9), w2.LastHeartbeat);
    }

    [Fact]
    public async Task Malformed_and_partial_events_are_stored_or_skipped_without_stopping_the_writer()
    {
        await using var store = await OpenAsync();
        await AppendAsync(store,
            Succeeded("", T0),
            Started("no-host", T0) with { Hostname = null! },
            new UnknownEvent { EventType = "task-custom", Hostname = "w1@host", Timestamp = At(T0), Extra = new JsonObject { ["uuid"] = 12 } },
            new UnknownEvent { EventType = "task-progress", Hostname = "w1@host", Timestamp = At(T0), Extra = new JsonObject { ["uuid"] = "p1" } },
            new UnknownEvent { EventType = "something-else", Hostname = "w1@host", Timestamp = double.NaN },
            Succeeded("partial", T0, result: null) with { Runtime = null },
            Sent("bad-time", T0) with { Timestamp = -1e300 });
        await AppendAsync(store, Lifecycle("after", T0));

        Assert.Equal("PROGRESS", (await store.GetTaskAsync("p1"))!.Task.State);
        var partial = (await store.GetTaskAsync("partial"))!.Task;
        Assert.Equal(("SUCCESS", null, null, null), (partial.State, partial.Name, partial.Result, partial.Runtime));
        Assert.Equal("SUCCESS", (await store.GetTaskAsync("after"))!.Task.State);
        Assert.Null(await store.GetTaskAsync("no-host"));
        Assert.Equal(_clock.GetUtcNow(), (await store.GetTaskAsync("bad-time"))!.Task.SentAt); // a timestamp that is not a time falls back to receipt time
    }

    [Fact]
    public async Task Options_that_cannot_work_are_refused_with_their_name()
    {
        var error = await Assert.ThrowsAsync<FennelConfigurationException>(() => OpenAsync(configure: o => o.MaxTasks = 0));
        Assert.Contains("MaxTasks", error.Message, StringComparison.Ordinal);
        error = await Assert.ThrowsAsync<FennelConfigurationException>(() => OpenAsync(configure: o => o.MaxAge = TimeSpan.Zero));
        Assert.Contains("MaxAge", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_store_refuses_events()
    {
        var store = await OpenAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.AppendAsync([Sent("t", T0)]));
    }

    internal static async Task<long> CountRowsAsync(string path, string table)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table};";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
