using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Fennel.Dashboard.History;

/// <summary>
/// The tables of the dashboard's history file, versioned with <c>PRAGMA user_version</c> (as Fennel.Sqlite's schema
/// is). Times are Unix milliseconds (UTC). A future version adds an upgrade step; a file from a newer Fennel is refused.
/// </summary>
/// <remarks>
/// <para>Indexes: one per sortable time and one per filter column, each ending in <c>seen_at</c>, so a filtered page
/// in the default order is one index range. <c>last_updated</c> serves trimming. Search (<c>LIKE '%text%'</c> over
/// id, args, kwargs, result and exception) cannot use a B-tree index and scans; the table is bounded by
/// <see cref="TaskHistoryOptions.MaxTasks"/>, so a scan is some tens of milliseconds at the default bound. An FTS5
/// trigram index would make it indexed at the price of roughly doubling the write cost; that is the next step if
/// search over much larger histories is wanted.</para>
/// <para>Timelines (<c>task_events</c>) are keyed by task, so a task's timeline is one range and deleting a task
/// deletes its events through a trigger. Throughput is aggregated as events arrive (<c>throughput</c>: a row per
/// minute and state), so the chart never scans tasks and outlives the tasks trimmed by count.</para>
/// </remarks>
internal static class TaskHistorySchema
{
    /// <summary>The schema version this code writes.</summary>
    public const int Version = 1;

    private const string CreateVersion1 = """
        CREATE TABLE IF NOT EXISTS tasks (
            id            TEXT PRIMARY KEY,
            name          TEXT,
            state         TEXT    NOT NULL,
            state_time    INTEGER,
            worker        TEXT,
            client        TEXT,
            queue         TEXT,
            routing_key   TEXT,
            args          TEXT,
            kwargs        TEXT,
            result        TEXT,
            exception     TEXT,
            traceback     TEXT,
            retries       INTEGER,
            parent_id     TEXT,
            root_id       TEXT,
            eta           TEXT,
            expires       TEXT,
            seen_at       INTEGER,
            sent_at       INTEGER,
            received_at   INTEGER,
            started_at    INTEGER,
            finished_at   INTEGER,
            runtime       REAL,
            terminated    INTEGER,
            expired       INTEGER,
            event_count   INTEGER NOT NULL,
            last_updated  INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS tasks_by_seen     ON tasks (seen_at);
        CREATE INDEX IF NOT EXISTS tasks_by_received ON tasks (received_at);
        CREATE INDEX IF NOT EXISTS tasks_by_started  ON tasks (started_at);
        CREATE INDEX IF NOT EXISTS tasks_by_finished ON tasks (finished_at);
        CREATE INDEX IF NOT EXISTS tasks_by_runtime  ON tasks (runtime);
        CREATE INDEX IF NOT EXISTS tasks_by_name     ON tasks (name, seen_at);
        CREATE INDEX IF NOT EXISTS tasks_by_state    ON tasks (state, seen_at);
        CREATE INDEX IF NOT EXISTS tasks_by_worker   ON tasks (worker, seen_at);
        CREATE INDEX IF NOT EXISTS tasks_by_queue    ON tasks (queue, seen_at);
        CREATE INDEX IF NOT EXISTS tasks_by_parent   ON tasks (parent_id);
        CREATE INDEX IF NOT EXISTS tasks_by_update   ON tasks (last_updated);

        CREATE TABLE IF NOT EXISTS task_events (
            task_id      TEXT    NOT NULL,
            seq          INTEGER NOT NULL,
            type         TEXT    NOT NULL,
            time         INTEGER NOT NULL,
            received_at  INTEGER NOT NULL,
            hostname     TEXT    NOT NULL,
            clock        INTEGER,
            PRIMARY KEY (task_id, seq)
        ) WITHOUT ROWID;

        CREATE TRIGGER IF NOT EXISTS tasks_delete_events AFTER DELETE ON tasks
        BEGIN
            DELETE FROM task_events WHERE task_id = old.id;
        END;

        CREATE TABLE IF NOT EXISTS workers (
            hostname        TEXT PRIMARY KEY,
            last_heartbeat  INTEGER,
            online_at       INTEGER,
            offline_at      INTEGER,
            freq            REAL,
            pid             INTEGER,
            active          INTEGER,
            processed       INTEGER,
            loadavg         TEXT,
            sw_ident        TEXT,
            sw_ver          TEXT,
            sw_sys          TEXT,
            last_updated    INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS throughput (
            minute  INTEGER NOT NULL,
            state   TEXT    NOT NULL,
            count   INTEGER NOT NULL,
            PRIMARY KEY (minute, state)
        ) WITHOUT ROWID;
        """;

    /// <summary>Switches the file to WAL and creates the tables when missing.</summary>
    /// <exception cref="FennelConfigurationException">The file was written by a newer Fennel.</exception>
    public static async Task CreateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > Version)
        {
            throw new FennelConfigurationException(
                $"The dashboard history file '{connection.DataSource}' has schema version {version}, newer than this Fennel understands ({Version}). Upgrade Fennel or point TaskHistoryOptions.Path elsewhere.");
        }
        if (version == Version) return;
        command.CommandText = CreateVersion1 + $"PRAGMA user_version = {Version};";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
