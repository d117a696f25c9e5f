using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Fennel.Dashboard.History;

/// <summary>
/// A statement the history writer runs thousands of times per batch (a task's upsert, a timeline entry), prepared once
/// on the writer's connection and bound by position. Through <see cref="SqliteCommand"/> every execution looked each
/// parameter up by name and boxed each value; SQLite's own work is the same either way. Values are bound as
/// <see cref="SqliteCommand"/> binds them (text, integer, real; a bool as 0 or 1; null as NULL).
/// </summary>
/// <remarks>Used inside the writer's transaction, like its commands. Dispose before the connection is closed.</remarks>
internal sealed class WriterStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public WriterStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The history's writer connection is not open.");
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(_db, sql, out _statement), _db);
    }

    /// <summary>Binds parameter <paramref name="index"/> (1-based, in order of first appearance in the SQL).</summary>
    public void Bind(int index, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_text(_statement, index, value));

    /// <inheritdoc cref="Bind(int, string?)" />
    public void Bind(int index, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    /// <inheritdoc cref="Bind(int, string?)" />
    public void Bind(int index, double? value)
    {
        if (value is not { } v)
        {
            Check(raw.sqlite3_bind_null(_statement, index));
            return;
        }
        // As SqliteCommand: SQLite would store NaN as NULL, silently.
        if (double.IsNaN(v)) throw new InvalidOperationException("Cannot store 'NaN' values.");
        Check(raw.sqlite3_bind_double(_statement, index, v));
    }

    /// <inheritdoc cref="Bind(int, string?)" />
    public void Bind(int index, bool? value) => Bind(index, value is { } b ? (b ? 1L : 0L) : null);

    /// <summary>Runs the statement (one that returns no rows) and resets it for the next bindings.</summary>
    public void Run()
    {
        try
        {
            var rc = raw.sqlite3_step(_statement);
            if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc == raw.SQLITE_ROW ? raw.SQLITE_MISUSE : rc, _db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _db);
}
