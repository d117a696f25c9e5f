using System.Threading.Channels;
using Fennel.Events;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Dashboard.History;

/// <summary>
/// The dashboard's task and worker history on one SQLite file (WAL), so a restart loses nothing. Events go in with
/// <see cref="AppendAsync"/> and wait in a bounded buffer; one writer loop applies whatever is waiting (up to
/// <see cref="TaskHistoryOptions.MaxBatchSize"/> events) in one transaction, loading each task and worker once per
/// batch and folding the events into them with <see cref="Fennel.Monitoring.TaskFold"/> and
/// <see cref="Fennel.Monitoring.WorkerFold"/>, the rules the in-memory <see cref="Fennel.Monitoring.ClusterState"/> follows
/// (so a late event never moves a task back). What it stores are <see cref="Fennel.Monitoring.TaskInfo"/> and
/// <see cref="Fennel.Monitoring.WorkerInfo"/> (the timelines in a table of their own). The same loop trims by age and count every
/// <see cref="TaskHistoryOptions.TrimInterval"/>. Queries read on pooled connections of their own, alongside the writer.
/// </summary>
/// <remarks>Open with <see cref="OpenAsync"/>; dispose to write what is waiting and close the file. Thread-safe.</remarks>
public sealed partial class TaskHistoryStore : IAsyncDisposable
{
    private readonly TaskHistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _connectionString;
    private readonly Channel<Work> _inbox;
    private readonly SqliteConnection _writer;
    private readonly ITimer _trimTimer;
    private Task _loop = Task.CompletedTask;
    private int _disposed;
    private long _taskEventsApplied;

    private TaskHistoryStore(TaskHistoryOptions options, TimeProvider time, ILogger logger, SqliteConnection writer, string connectionString)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _writer = writer;
        _connectionString = connectionString;
        _inbox = Channel.CreateBounded<Work>(new BoundedChannelOptions(options.MaxPendingEvents)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _trimTimer = time.CreateTimer(_ => _inbox.Writer.TryWrite(Work.TrimRequest), null, options.TrimInterval, options.TrimInterval);
    }

    /// <summary>
    /// How many task events the writer has applied (committed) since the store was opened: it grows whenever what the task
    /// queries answer may have changed, so a reader can tell when to ask again (the live stream's <c>tasks_version</c>).
    /// </summary>
    public long TaskEventsApplied => Interlocked.Read(ref _taskEventsApplied);

    /// <summary>The options in effect (a copy; changing it changes nothing).</summary>
    public TaskHistoryOptions Options => _options.Clone();

    /// <summary>Opens (creating when missing) the history file and starts the writer.</summary>
    /// <param name="options">The file and the bounds; the defaults when null.</param>
    /// <param name="timeProvider">The clock for receipt times, liveness, trimming and throughput; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Where to log; nowhere when null.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <exception cref="FennelConfigurationException">An option cannot work, or the file is from a newer Fennel.</exception>
    public static async Task<TaskHistoryStore> OpenAsync(TaskHistoryOptions? options = null, TimeProvider? timeProvider = null,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        options = (options ?? new TaskHistoryOptions()).Clone();
        options.Validate();
        logger ??= NullLogger.Instance;
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(options.Path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();

        var writer = new SqliteConnection(connectionString);
        try
        {
            await writer.OpenAsync(cancellationToken).ConfigureAwait(false);
            // A 16 MiB page cache for the writer (SQLite's default is 2 MB): task ids and timeline keys are random, so a
            // batch's inserts land all over the id index and the timeline; with the default most of those pages were read
            // back from the file at every batch.
            await ExecuteAsync(writer, "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;", cancellationToken).ConfigureAwait(false);
            await TaskHistorySchema.CreateAsync(writer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        HistoryLog.Opened(logger, options.Path, TaskHistorySchema.Version);
        var store = new TaskHistoryStore(options, timeProvider ?? TimeProvider.System, logger, writer, connectionString);
        store._loop = Task.Run(store.WriteLoopAsync, CancellationToken.None);
        return store;
    }

    /// <summary>
    /// Queues events (a decoded <c>task.multi</c> body, or one event) to be written in arrival order; returns once they
    /// are queued, waiting only while <see cref="TaskHistoryOptions.MaxPendingEvents"/> are already waiting.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public async ValueTask AppendAsync(IEnumerable<CeleryEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        foreach (var e in events)
        {
            if (e is null) continue;
            var work = new Work(e, null, false);
            if (!_inbox.Writer.TryWrite(work)) await WriteOrThrowAsync(work, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Completes when every event queued before this call is written (or, if writing failed, logged as lost).</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) => SignalAsync(trim: false, cancellationToken);

    /// <summary>Trims by age and count now (the writer also does it every <see cref="TaskHistoryOptions.TrimInterval"/>) and completes when done.</summary>
    public Task TrimAsync(CancellationToken cancellationToken = default) => SignalAsync(trim: true, cancellationToken);

    /// <summary>Writes what is waiting, stops the writer and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _trimTimer.DisposeAsync().ConfigureAwait(false);
        _inbox.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _upsertTask?.Dispose();
        _insertTimeline?.Dispose();
        await _writer.DisposeAsync().ConfigureAwait(false);
        // Pooled readers keep the file open otherwise.
        using (var pooled = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(pooled);
    }

    private async Task SignalAsync(bool trim, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await WriteOrThrowAsync(new Work(null, done, trim), cancellationToken).ConfigureAwait(false);
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteOrThrowAsync(Work work, CancellationToken cancellationToken)
    {
        try
        {
            await _inbox.Writer.WriteAsync(work, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(TaskHistoryStore));
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<CeleryEvent>(Math.Min(_options.MaxBatchSize, 4096));
        var signals = new List<TaskCompletionSource>();
        var reader = _inbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var trim = false;
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var work))
            {
                if (work.Event is { } e) batch.Add(e);
                if (work.Done is { } done) signals.Add(done);
                trim |= work.Trim;
            }
            if (batch.Count > 0)
            {
                try
                {
                    await WriteBatchAsync(batch).ConfigureAwait(false);
                    Interlocked.Add(ref _taskEventsApplied, batch.Count(e => e.Type.StartsWith("task-", StringComparison.Ordinal)));
                }
#pragma warning disable CA1031 // One bad batch must not stop the history; it is logged with its size.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    HistoryLog.BatchFailed(_logger, batch.Count, _options.Path, ex);
                }
                batch.Clear();
            }
            if (trim)
            {
                try
                {
                    await TrimNowAsync().ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Trimming is retried at the next interval.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    HistoryLog.TrimFailed(_logger, _options.Path, ex);
                }
            }
            foreach (var signal in signals) signal.TrySetResult();
            signals.Clear();
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>An event to write, or a request (flush, trim) completed once everything before it is written.</summary>
    private readonly record struct Work(CeleryEvent? Event, TaskCompletionSource? Done, bool Trim)
    {
        public static readonly Work TrimRequest = new(null, null, true);
    }
}
