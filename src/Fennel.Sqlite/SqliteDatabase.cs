using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Fennel.Sqlite;

/// <summary>
/// One SQLite file as the transport and the result store use it: opens pooled connections with the right settings,
/// creates the schema on first use, and clears the pool on dispose. Microsoft.Data.Sqlite pools connections, so
/// "a connection per operation" costs a dictionary lookup, not a file open.
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    private const int SQLiteBusy = 5;
    private const int SQLiteLocked = 6;
    private readonly string _connectionString;
    private readonly string _pragmas;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;
    private volatile bool _disposed;

    public SqliteDatabase(SqliteOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _logger = logger;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Microsoft.Data.Sqlite retries a busy statement until the command timeout; keep it in line with busy_timeout.
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
        // Per-connection settings; journal_mode=WAL is a property of the file, set once with the schema.
        _pragmas = string.Create(CultureInfo.InvariantCulture,
            $"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = {(options.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")};");
    }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>The settings this database was opened with.</summary>
    public SqliteOptions Options { get; }

    /// <summary>Opens a pooled connection, creating the file, its folder and the schema on first use.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_schemaReady) await CreateSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a write transaction with <c>BEGIN IMMEDIATE</c>: it takes the write lock up front, so two connections never
    /// both read and then both try to upgrade to writing (a deadlock SQLite can only answer with SQLITE_BUSY).
    /// </summary>
    public static SqliteTransaction BeginWrite(SqliteConnection connection) => connection.BeginTransaction(deferred: false);

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction (<see cref="BeginWrite"/>) and commits it. The command it gets
    /// is bound to the transaction; SQLite errors become <see cref="BrokerException"/>s.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<SqliteCommand, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var transaction = BeginWrite(connection);
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                var result = await work(command).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
        }
        catch (SqliteException ex)
        {
            throw Failed(ex);
        }
    }

    /// <summary>Runs <paramref name="work"/> outside a transaction (one statement is its own read snapshot).</summary>
    public async Task<T> ReadAsync<T>(Func<SqliteCommand, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = connection.CreateCommand();
                return await work(command).ConfigureAwait(false);
            }
        }
        catch (SqliteException ex)
        {
            throw Failed(ex);
        }
    }

    /// <summary>Closes the idle pooled connections to the file, so it can be moved or deleted.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        // _schemaGate is not disposed: an operation racing the dispose may still release it. It holds no wait handle.
    }

    private BrokerException Failed(SqliteException ex) => new(
        $"The SQLite database '{Options.Path}' failed an operation: {ex.Message}", ex,
        isTransient: ex.SqliteErrorCode is SQLiteBusy or SQLiteLocked);

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var command = connection.CreateCommand();
            command.CommandText = _pragmas;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task CreateSchemaAsync(CancellationToken cancellationToken)
    {
        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady) return;
            var folder = Path.GetDirectoryName(Options.Path);
            if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                if (await SqliteSchema.CreateAsync(connection, cancellationToken).ConfigureAwait(false))
                {
                    Log.SchemaCreated(_logger, Options.Path, SqliteSchema.Version);
                }
            }
            _schemaReady = true;
        }
        catch (SqliteException ex)
        {
            throw new BrokerException($"The SQLite database '{Options.Path}' could not be opened: {ex.Message}", ex);
        }
        finally
        {
            _schemaGate.Release();
        }
    }
}
