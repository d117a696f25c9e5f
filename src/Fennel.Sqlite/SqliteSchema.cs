using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Fennel.Sqlite;

/// <summary>
/// The tables of a Fennel SQLite file, versioned with <c>PRAGMA user_version</c>. Times are Unix milliseconds (UTC).
/// </summary>
/// <remarks>
/// <para><c>messages.visible_at</c> is when a message may next be fetched, as in Amazon SQS: for a waiting message its
/// due time (0 = now), for a leased one the end of its lease. So "ready" is one test (<c>visible_at &lt;= now</c>)
/// served by one index, and a lapsed lease needs no sweeper: the message is simply visible again.
/// <c>lease_owner</c> is the nonce of the fetch that leased it (null when it waits); it stays after a lease lapses
/// until another fetch overwrites it, so a slow holder can still settle a message nobody else took.</para>
/// <para>A future version adds an upgrade step from the previous one; a file from a newer Fennel is refused.</para>
/// </remarks>
internal static class SqliteSchema
{
    /// <summary>The schema version this code writes.</summary>
    public const int Version = 3;

    private const string CreateVersion1 = """
        CREATE TABLE IF NOT EXISTS queues (
            name        TEXT PRIMARY KEY,
            created_at  INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS messages (
            id             INTEGER PRIMARY KEY,
            queue          TEXT    NOT NULL,
            priority       INTEGER NOT NULL,
            body           BLOB    NOT NULL,
            visible_at     INTEGER NOT NULL,
            lease_owner    TEXT    NULL,
            delivery_count INTEGER NOT NULL DEFAULT 0,
            enqueued_at    INTEGER NOT NULL
        );
        -- Serves the fetch: highest priority first, then oldest.
        CREATE INDEX IF NOT EXISTS messages_by_order ON messages (queue, priority DESC, id);
        -- Serves the idle check (anything visible? when next?), queue lengths and purges.
        CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at);

        CREATE TABLE IF NOT EXISTS dead_letters (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            queue            TEXT    NOT NULL,
            priority         INTEGER NOT NULL,
            body             BLOB    NOT NULL,
            reason           TEXT    NOT NULL,
            dead_lettered_at INTEGER NOT NULL,
            delivery_count   INTEGER NOT NULL
        );

        CREATE TABLE IF NOT EXISTS results (
            task_id    TEXT PRIMARY KEY,
            state      TEXT    NOT NULL,
            body       BLOB    NOT NULL,
            date_done  INTEGER NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS results_by_expiry ON results (expires_at);
        """;

    /// <summary>
    /// Version 2: durable revokes. <c>id</c> is the readers' cursor; <c>AUTOINCREMENT</c> so an id is never reused after
    /// expired rows are trimmed (a reader's cursor never skips a newer revoke).
    /// </summary>
    private const string CreateVersion2 = """
        CREATE TABLE IF NOT EXISTS revokes (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id     TEXT    NOT NULL,
            terminate   INTEGER NOT NULL,
            revoked_at  INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS revokes_by_expiry ON revokes (expires_at);
        """;

    /// <summary>
    /// Version 3: broadcast (events and remote control) and cluster-wide rate limits. <c>broadcasts.id</c> is the
    /// subscribers' cursor, <c>AUTOINCREMENT</c> for the same reason as <c>revokes.id</c>; rows live about a minute (see
    /// <c>SqliteTransport.Broadcast.cs</c>) and are trimmed from the oldest id, so the table needs no other index.
    /// <c>rate_limits</c> was created on first use before version 3, hence <c>IF NOT EXISTS</c> here too.
    /// </summary>
    private const string CreateVersion3 = """
        CREATE TABLE IF NOT EXISTS broadcasts (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            exchange     TEXT    NOT NULL,
            routing_key  TEXT    NOT NULL,
            body         BLOB    NOT NULL,
            created_at   INTEGER NOT NULL
        );

        CREATE TABLE IF NOT EXISTS rate_limits (
            name     TEXT PRIMARY KEY,
            free_at  INTEGER NOT NULL -- Unix microseconds: when the next turn may be taken
        ) WITHOUT ROWID;
        """;

    /// <summary>Switches the file to WAL and creates the tables when missing; true when this call created them.</summary>
    /// <exception cref="FennelConfigurationException">The file was written by a newer Fennel.</exception>
    public static async Task<bool> CreateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // WAL lets readers (idle checks, the dashboard) run while one connection writes. It sticks to the file.
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        using var transaction = SqliteDatabase.BeginWrite(connection);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > Version)
        {
            throw new FennelConfigurationException(
                $"The SQLite file '{connection.DataSource}' has schema version {version}, newer than this Fennel understands ({Version}). Upgrade Fennel.");
        }
        if (version == Version) return false;

        // Each step upgrades from the version before it, so a file of any older version is brought up to date.
        command.CommandText = (version < 1 ? CreateVersion1 : "") + (version < 2 ? CreateVersion2 : "") + CreateVersion3
            + $"PRAGMA user_version = {Version};";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }
}
