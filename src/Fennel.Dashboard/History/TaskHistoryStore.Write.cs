using System.Globalization;
using System.Text.Json;
using Fennel.Events;
using Fennel.Monitoring;
using Microsoft.Data.Sqlite;

namespace Fennel.Dashboard.History;

public sealed partial class TaskHistoryStore
{
    private const string TaskColumns = """
        id, name, state, state_time, worker, client, queue, routing_key, args, kwargs, result, exception, traceback,
        retries, parent_id, root_id, eta, expires, seen_at, sent_at, received_at, started_at, finished_at, runtime,
        terminated, expired, last_updated, event_count
        """;

    private const string WorkerColumns = """
        hostname, last_heartbeat, online_at, offline_at, freq, pid, active, processed, loadavg, sw_ident, sw_ver, sw_sys, last_updated
        """;

    private static readonly string[] TaskColumnNames = TaskColumns.Split(',', StringSplitOptions.TrimEntries);
    private static readonly string[] WorkerColumnNames = WorkerColumns.Split(',', StringSplitOptions.TrimEntries);

    private static readonly string UpsertTaskSql =
        $"INSERT INTO tasks ({TaskColumns}) VALUES ({string.Join(", ", TaskColumnNames.Select(c => "$" + c))}) ON CONFLICT (id) DO UPDATE SET "
        + string.Join(", ", TaskColumnNames.Skip(1).Select(c => $"{c} = excluded.{c}")) + ";";

    private static readonly string UpsertWorkerSql =
        $"INSERT INTO workers ({WorkerColumns}) VALUES ({string.Join(", ", WorkerColumnNames.Select(c => "$" + c))}) ON CONFLICT (hostname) DO UPDATE SET "
        + string.Join(", ", WorkerColumnNames.Skip(1).Select(c => $"{c} = excluded.{c}")) + ";";

    private const string InsertTimelineSql = """
        INSERT OR REPLACE INTO task_events (task_id, seq, type, time, received_at, hostname, clock)
        VALUES ($task, $seq, $type, $time, $received, $host, $clock);
        """;

    // The writer's hot statements, prepared on first use and kept until the store is disposed (only the writer loop uses them).
    private WriterStatement? _upsertTask;
    private WriterStatement? _insertTimeline;

    /// <summary>
    /// Applies one batch in one transaction: each task and worker is read once, folded in memory by <see cref="TaskFold"/>
    /// and <see cref="WorkerFold"/> (the rules <see cref="ClusterState"/> follows), and written once.
    /// </summary>
    private async Task WriteBatchAsync(List<CeleryEvent> batch)
    {
        var now = _time.GetUtcNow();
        var tasks = new Dictionary<string, TaskInfo>(StringComparer.Ordinal);
        var workers = new Dictionary<string, WorkerInfo>(StringComparer.Ordinal);
        var timeline = new List<(string TaskId, long Seq, TaskTimelineEntry Entry)>();
        var throughput = new Dictionary<(long Minute, string State), long>();
        var minute = now.ToUnixTimeMilliseconds() / 60_000 * 60_000;

        using var transaction = _writer.BeginTransaction(deferred: false);
        using var selectTask = Command($"SELECT {TaskColumns} FROM tasks WHERE id = $id;", transaction);
        var selectTaskId = selectTask.Parameters.Add("$id", SqliteType.Text);
        using var selectWorker = Command($"SELECT {WorkerColumns} FROM workers WHERE hostname = $id;", transaction);
        var selectWorkerId = selectWorker.Parameters.Add("$id", SqliteType.Text);

        foreach (var e in batch)
        {
            if (string.IsNullOrEmpty(e.Hostname))
            {
                HistoryLog.EventIgnored(_logger, e.Type, "?", "it names no hostname");
                continue;
            }
            if (e is WorkerEvent worker)
            {
                workers[worker.Hostname] = WorkerFold.Apply(await LoadWorkerAsync(worker.Hostname).ConfigureAwait(false), worker, now);
            }
            else if (TaskFold.TaskIdOf(e) is { Length: > 0 } id)
            {
                await ApplyTaskAsync(e, id).ConfigureAwait(false);
            }
            else if (e is TaskEvent || e.Type.StartsWith("task-", StringComparison.Ordinal))
            {
                HistoryLog.EventIgnored(_logger, e.Type, e.Hostname, "it names no task (uuid)");
            }
        }

        _upsertTask ??= new WriterStatement(_writer, UpsertTaskSql);
        foreach (var task in tasks.Values)
        {
            BindTask(_upsertTask, task);
            _upsertTask.Run();
        }
        if (timeline.Count > 0)
        {
            _insertTimeline ??= new WriterStatement(_writer, InsertTimelineSql);
            foreach (var (taskId, seq, entry) in timeline)
            {
                _insertTimeline.Bind(1, taskId);
                _insertTimeline.Bind(2, seq);
                _insertTimeline.Bind(3, entry.Type);
                _insertTimeline.Bind(4, entry.Time.ToUnixTimeMilliseconds());
                _insertTimeline.Bind(5, entry.ReceivedAt.ToUnixTimeMilliseconds());
                _insertTimeline.Bind(6, entry.Hostname);
                _insertTimeline.Bind(7, entry.Clock);
                _insertTimeline.Run();
            }
            // Keep the newest MaxTimelineEntries per task: only tasks past the bound pay for this.
            using var cut = Command("DELETE FROM task_events WHERE task_id = $task AND seq <= $below;", transaction);
            var (cTask, cBelow) = (cut.Parameters.Add("$task", SqliteType.Text), cut.Parameters.Add("$below", SqliteType.Integer));
            foreach (var task in tasks.Values.Where(t => t.EventCount > _options.MaxTimelineEntries))
            {
                cTask.Value = task.Id;
                cBelow.Value = task.EventCount - _options.MaxTimelineEntries;
                await cut.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
        using (var upsert = Command(UpsertWorkerSql, transaction))
        {
            var parameters = WorkerColumnNames.Select(c => upsert.Parameters.AddWithValue("$" + c, DBNull.Value)).ToArray();
            foreach (var worker in workers.Values)
            {
                var values = WorkerValues(worker, now);
                for (var i = 0; i < values.Length; i++) parameters[i].Value = values[i] ?? DBNull.Value;
                await upsert.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
        if (throughput.Count > 0)
        {
            using var add = Command("""
                INSERT INTO throughput (minute, state, count) VALUES ($minute, $state, $count)
                ON CONFLICT (minute, state) DO UPDATE SET count = count + excluded.count;
                """, transaction);
            var (pMinute, pState, pCount) = (add.Parameters.Add("$minute", SqliteType.Integer), add.Parameters.Add("$state", SqliteType.Text),
                add.Parameters.Add("$count", SqliteType.Integer));
            foreach (var ((m, state), count) in throughput)
            {
                pMinute.Value = m;
                pState.Value = state;
                pCount.Value = count;
                await add.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
        await transaction.CommitAsync().ConfigureAwait(false);

        async Task<WorkerInfo?> LoadWorkerAsync(string hostname)
        {
            if (workers.TryGetValue(hostname, out var known)) return known;
            selectWorkerId.Value = hostname;
            using var reader = await selectWorker.ExecuteReaderAsync().ConfigureAwait(false);
            return await reader.ReadAsync().ConfigureAwait(false) ? ReadWorker(reader, now, _options.HeartbeatExpiryFactor) : null;
        }

        async Task ApplyTaskAsync(CeleryEvent e, string id)
        {
            if (!tasks.TryGetValue(id, out var task))
            {
                selectTaskId.Value = id;
                using var reader = await selectTask.ExecuteReaderAsync().ConfigureAwait(false);
                task = await reader.ReadAsync().ConfigureAwait(false) ? ReadTask(reader) : null;
            }
            if (WorkerFold.SentByWorker(e))
            {
                workers[e.Hostname] = WorkerFold.ApplyTaskEvent(await LoadWorkerAsync(e.Hostname).ConfigureAwait(false), e, now);
            }
            task = TaskFold.Apply(task, id, e, now);
            tasks[id] = task;
            timeline.Add((id, task.EventCount, TaskFold.TimelineEntry(e, now)));
            var state = CeleryStatePrecedence.StateOf(e.Type);
            throughput[(minute, state)] = throughput.GetValueOrDefault((minute, state)) + 1;
        }
    }

    private SqliteCommand Command(string sql, SqliteTransaction transaction)
    {
        var command = _writer.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    /// <summary>Binds a task's values to <see cref="UpsertTaskSql"/>'s parameters, in <see cref="TaskColumns"/> order.</summary>
    private static void BindTask(WriterStatement upsert, TaskInfo t)
    {
        upsert.Bind(1, t.Id);
        upsert.Bind(2, t.Name);
        upsert.Bind(3, t.State);
        upsert.Bind(4, Ms(t.StateTime));
        upsert.Bind(5, t.Worker);
        upsert.Bind(6, t.Client);
        upsert.Bind(7, t.Queue);
        upsert.Bind(8, t.RoutingKey);
        upsert.Bind(9, t.Args);
        upsert.Bind(10, t.Kwargs);
        upsert.Bind(11, t.Result);
        upsert.Bind(12, t.Exception);
        upsert.Bind(13, t.Traceback);
        upsert.Bind(14, t.Retries);
        upsert.Bind(15, t.ParentId);
        upsert.Bind(16, t.RootId);
        upsert.Bind(17, t.Eta);
        upsert.Bind(18, t.Expires);
        upsert.Bind(19, Ms(t.SeenAt));
        upsert.Bind(20, Ms(t.SentAt));
        upsert.Bind(21, Ms(t.ReceivedAt));
        upsert.Bind(22, Ms(t.StartedAt));
        upsert.Bind(23, Ms(t.FinishedAt));
        upsert.Bind(24, t.Runtime);
        upsert.Bind(25, t.Terminated);
        upsert.Bind(26, t.Expired);
        upsert.Bind(27, t.LastUpdated.ToUnixTimeMilliseconds());
        upsert.Bind(28, t.EventCount);
    }

    private static object?[] WorkerValues(WorkerInfo w, DateTimeOffset now) =>
    [
        w.Hostname, Ms(w.LastHeard), Ms(w.OnlineAt), Ms(w.OfflineAt), w.Freq, w.Pid, w.Active, w.Processed,
        w.LoadAverage is null ? null : JsonSerializer.Serialize(w.LoadAverage, HistoryJson.Default.IReadOnlyListDouble),
        w.SoftwareIdentity, w.SoftwareVersion, w.SoftwareSystem, now.ToUnixTimeMilliseconds(),
    ];

    private static long? Ms(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();

    private static DateTimeOffset? Time(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static TaskInfo ReadTask(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Name = Text(r, 1),
        State = r.GetString(2),
        StateTime = Time(r, 3),
        Worker = Text(r, 4),
        Client = Text(r, 5),
        Queue = Text(r, 6),
        RoutingKey = Text(r, 7),
        Args = Text(r, 8),
        Kwargs = Text(r, 9),
        Result = Text(r, 10),
        Exception = Text(r, 11),
        Traceback = Text(r, 12),
        Retries = r.IsDBNull(13) ? null : r.GetInt32(13),
        ParentId = Text(r, 14),
        RootId = Text(r, 15),
        Eta = Text(r, 16),
        Expires = Text(r, 17),
        SeenAt = Time(r, 18),
        SentAt = Time(r, 19),
        ReceivedAt = Time(r, 20),
        StartedAt = Time(r, 21),
        FinishedAt = Time(r, 22),
        Runtime = r.IsDBNull(23) ? null : r.GetDouble(23),
        Terminated = r.IsDBNull(24) ? null : r.GetBoolean(24),
        Expired = r.IsDBNull(25) ? null : r.GetBoolean(25),
        LastUpdated = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(26)),
        EventCount = r.GetInt64(27),
    };

    /// <summary>
    /// A stored worker, with liveness judged at <paramref name="now"/>. The file keeps no flag for <c>worker-offline</c>:
    /// the worker said it when no sign of life came after it (<c>last_heartbeat</c> not after <c>offline_at</c>).
    /// </summary>
    private static WorkerInfo ReadWorker(SqliteDataReader r, DateTimeOffset now, double expiryFactor)
    {
        var heard = Time(r, 1);
        var offline = Time(r, 3);
        var worker = new WorkerInfo
        {
            Hostname = r.GetString(0),
            LastHeard = heard,
            OnlineAt = Time(r, 2),
            OfflineAt = offline,
            SaidOffline = offline is { } off && (heard is not { } beat || beat <= off),
            Freq = r.IsDBNull(4) ? WorkerInfo.DefaultFreq : r.GetDouble(4),
            Pid = r.IsDBNull(5) ? null : r.GetInt32(5),
            Active = r.IsDBNull(6) ? null : r.GetInt32(6),
            Processed = r.IsDBNull(7) ? null : r.GetInt64(7),
            LoadAverage = r.IsDBNull(8) ? null : JsonSerializer.Deserialize(r.GetString(8), HistoryJson.Default.IReadOnlyListDouble),
            SoftwareIdentity = Text(r, 9),
            SoftwareVersion = Text(r, 10),
            SoftwareSystem = Text(r, 11),
        };
        return WorkerFold.WithLiveness(worker, now, expiryFactor);
    }
}
