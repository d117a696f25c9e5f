using System.Globalization;
using System.Text;
using Fennel.Monitoring;
using Microsoft.Data.Sqlite;

namespace Fennel.Dashboard.History;

public sealed partial class TaskHistoryStore
{
    /// <summary>The largest <see cref="TaskQuery.Limit"/>.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>A page of tasks matching the query's filters and search, in its order, with the number matching in all.</summary>
    /// <exception cref="ArgumentException">The offset is negative or the limit outside 1 to <see cref="MaxPageSize"/>.</exception>
    public async Task<TaskPage> QueryTasksAsync(TaskQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Offset, nameof(query));
        if (query.Limit is < 1 or > MaxPageSize) throw new ArgumentException($"TaskQuery.Limit is {query.Limit}; it must be 1 to {MaxPageSize}.", nameof(query));

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        var where = new StringBuilder("WHERE 1 = 1");
        if (query.States is { Count: > 0 } states)
        {
            var names = states.Select((s, i) => { command.Parameters.AddWithValue($"$state{i}", s); return $"$state{i}"; });
            where.Append(CultureInfo.InvariantCulture, $" AND state IN ({string.Join(", ", names)})");
        }
        Equal("name", query.Name);
        Equal("worker", query.Worker);
        Equal("queue", query.Queue);
        if (query.From is { } from)
        {
            where.Append(" AND seen_at >= $from");
            command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        }
        if (query.To is { } to)
        {
            where.Append(" AND seen_at < $to");
            command.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds());
        }
        if (!string.IsNullOrEmpty(query.Search))
        {
            // Infix search cannot use an index; the table is bounded (see TaskHistorySchema). Wildcards in the text are literal.
            where.Append("""
                 AND (id LIKE $search ESCAPE '\' OR args LIKE $search ESCAPE '\' OR kwargs LIKE $search ESCAPE '\'
                      OR result LIKE $search ESCAPE '\' OR exception LIKE $search ESCAPE '\')
                """);
            var escaped = query.Search.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);
            command.Parameters.AddWithValue("$search", $"%{escaped}%");
        }
        var column = query.SortBy switch
        {
            TaskSortField.Seen => "seen_at",
            TaskSortField.Received => "received_at",
            TaskSortField.Started => "started_at",
            TaskSortField.Finished => "finished_at",
            TaskSortField.Name => "name",
            TaskSortField.State => "state",
            TaskSortField.Runtime => "runtime",
            _ => throw new ArgumentException($"TaskQuery.SortBy is {query.SortBy}, which is not a sort field.", nameof(query)),
        };
        var direction = query.Descending ? "DESC" : "ASC";
        command.CommandText = $"""
            SELECT count(*) FROM tasks {where};
            SELECT {TaskColumns} FROM tasks {where}
            ORDER BY {column} IS NULL, {column} {direction}, rowid {direction}
            LIMIT {query.Limit} OFFSET {query.Offset};
            """;

        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var tasks = new List<TaskInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) tasks.Add(ReadTask(reader));
        return new TaskPage(tasks, total);

        void Equal(string name, string? value)
        {
            if (value is null) return;
            where.Append(CultureInfo.InvariantCulture, $" AND {name} = ${name}");
            command.Parameters.AddWithValue("$" + name, value);
        }
    }

    /// <summary>One task with its timeline and children, or null when the history does not hold it.</summary>
    public async Task<TaskDetail?> GetTaskAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        // One read transaction, so the task, its timeline and its children are one consistent picture.
        using var transaction = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT {TaskColumns} FROM tasks WHERE id = $id;
            SELECT type, time, received_at, hostname, clock FROM task_events WHERE task_id = $id ORDER BY time, seq;
            SELECT {TaskColumns} FROM tasks WHERE parent_id = $id ORDER BY seen_at, rowid LIMIT {MaxPageSize};
            """;
        command.Parameters.AddWithValue("$id", id);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        var task = ReadTask(reader);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var timeline = new List<TaskTimelineEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            timeline.Add(new TaskTimelineEntry(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetInt64(4)));
        }
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var children = new List<TaskInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) children.Add(ReadTask(reader));
        return new TaskDetail(task, timeline, children);
    }

    /// <summary>Every worker the history holds, by node name, with liveness judged now.</summary>
    public async Task<IReadOnlyList<WorkerInfo>> GetWorkersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {WorkerColumns} FROM workers ORDER BY hostname;";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var workers = new List<WorkerInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) workers.Add(ReadWorker(reader, now, _options.HeartbeatExpiryFactor));
        return workers;
    }

    /// <summary>
    /// Task events per minute and state over the last <paramref name="minutes"/> minutes including the current one,
    /// oldest first; minutes and states without events are absent.
    /// </summary>
    public async Task<IReadOnlyList<ThroughputBucket>> GetThroughputAsync(int minutes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minutes, 1);
        var current = _time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000 * 60_000;
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT minute, state, count FROM throughput WHERE minute > $since ORDER BY minute, state;";
        command.Parameters.AddWithValue("$since", current - (minutes * 60_000L));
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var buckets = new List<ThroughputBucket>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            buckets.Add(new ThroughputBucket(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), reader.GetString(1), reader.GetInt64(2)));
        }
        return buckets;
    }

    /// <summary>How many tasks the history holds in each state.</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountByStateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, count(*) FROM tasks GROUP BY state;";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }

    /// <summary>The queues the history's tasks were sent to (from <c>task-sent</c>), in name order.</summary>
    public async Task<IReadOnlyList<string>> ListQueuesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT queue FROM tasks WHERE queue IS NOT NULL AND queue <> '' ORDER BY queue;";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var queues = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) queues.Add(reader.GetString(0));
        return queues;
    }

    /// <summary>How many tasks in the history each worker failed (state <c>FAILURE</c>), by node name.</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountFailuresByWorkerAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT worker, count(*) FROM tasks WHERE state = 'FAILURE' AND worker IS NOT NULL GROUP BY worker;";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }

    /// <summary>How many tasks were first seen per queue within the last <paramref name="window"/> (queues known from <c>task-sent</c>).</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountSeenByQueueAsync(TimeSpan window, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT queue, count(*) FROM tasks WHERE seen_at >= $since AND queue IS NOT NULL GROUP BY queue;";
        command.Parameters.AddWithValue("$since", (_time.GetUtcNow() - window).ToUnixTimeMilliseconds());
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }
}
