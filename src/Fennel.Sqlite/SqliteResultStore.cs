using Fennel.Results;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Sqlite;

/// <summary>
/// Task results in a SQLite file (<c>sqlite://</c>), the broker's file or another one. Each row keeps the bytes of
/// <see cref="TaskResultCodec.Encode"/>, the JSON Celery stores, so every result store holds the same thing.
/// </summary>
/// <remarks>
/// An expired row reads as absent (PENDING); writes delete expired rows at most once a minute. <see cref="WaitAsync"/>
/// polls with backoff (2 ms doubling to 100 ms) and wakes at once when this process stores a result.
/// </remarks>
public sealed class SqliteResultStore : IResultStore
{
    private static readonly TimeSpan MinPause = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan MaxPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan CleanupInterval = TimeSpan.FromMinutes(1);

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WakeUpSignal _stored;
    private long _nextCleanupMs;

    /// <summary>Opens (and on first use creates) the result store in the file <paramref name="options"/> names.</summary>
    public SqliteResultStore(SqliteOptions options, TimeProvider? timeProvider = null, ILogger<SqliteResultStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger ?? NullLogger<SqliteResultStore>.Instance;
        _database = new SqliteDatabase(options, _logger);
        _time = timeProvider ?? TimeProvider.System;
        _stored = WakeUpSignal.For(options.Path, "results");
    }

    /// <summary>True once disposed.</summary>
    internal bool IsDisposed => _database.IsDisposed;

    /// <summary>The file and connection settings.</summary>
    public SqliteOptions Options => _database.Options;

    /// <inheritdoc />
    public async Task StoreAsync(TaskResult result, TimeSpan expires, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        var body = TaskResultCodec.Encode(result);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // A result that never expires in practice (TimeSpan.MaxValue) must not overflow the clock.
        var expiresAt = now + (long)Math.Min(expires.TotalMilliseconds, long.MaxValue - now);
        var cleanup = now >= Interlocked.Read(ref _nextCleanupMs);
        if (cleanup) Interlocked.Exchange(ref _nextCleanupMs, now + (long)CleanupInterval.TotalMilliseconds);

        var deleted = await _database.WriteAsync(async command =>
        {
            command.CommandText = """
                INSERT INTO results (task_id, state, body, date_done, expires_at) VALUES ($task_id, $state, $body, $date_done, $expires_at)
                ON CONFLICT (task_id) DO UPDATE SET
                    state = excluded.state, body = excluded.body, date_done = excluded.date_done, expires_at = excluded.expires_at
                """;
            command.Parameters.AddWithValue("$task_id", result.TaskId);
            command.Parameters.AddWithValue("$state", result.State.ToWire());
            command.Parameters.AddWithValue("$body", body);
            command.Parameters.AddWithValue("$date_done", (object?)result.DateDone?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            command.Parameters.AddWithValue("$expires_at", expiresAt);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (!cleanup) return 0;
            command.CommandText = "DELETE FROM results WHERE expires_at <= $now";
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$now", now);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        if (deleted > 0) Log.ExpiredResultsDeleted(_logger, deleted, Options.Path);
        if (result.State.IsReady()) _stored.Pulse();
    }

    /// <inheritdoc />
    public Task<TaskResult?> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        return _database.ReadAsync(async command =>
        {
            command.CommandText = "SELECT body FROM results WHERE task_id = $task_id AND expires_at > $now";
            command.Parameters.AddWithValue("$task_id", taskId);
            command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] body
                ? TaskResultCodec.Decode(body, taskId)
                : null;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<TaskResult> WaitAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        var deadline = SqliteTransport.DeadlineAfter(_time.GetUtcNow(), timeout);
        var pause = MinPause;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stored = _stored.NextPulse;
            if (await GetAsync(taskId, cancellationToken).ConfigureAwait(false) is { } result && result.State.IsReady()) return result;

            var remaining = deadline - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Task {taskId} did not finish within {timeout.TotalSeconds:0.###} s.");
            }
            await Task.WhenAny(stored, Task.Delay(pause < remaining ? pause : remaining, _time, cancellationToken)).ConfigureAwait(false);
            pause = stored.IsCompleted ? MinPause : (pause * 2 < MaxPause ? pause * 2 : MaxPause);
        }
    }

    /// <inheritdoc />
    public Task ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        return _database.WriteAsync(async command =>
        {
            command.CommandText = "DELETE FROM results WHERE task_id = $task_id";
            command.Parameters.AddWithValue("$task_id", taskId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Closes the pooled connections to the file. Results stay in it.</summary>
    public ValueTask DisposeAsync()
    {
        _database.Dispose();
        return ValueTask.CompletedTask;
    }
}
