using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Fennel.Protocol;
using Fennel.Transport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Sqlite;

/// <summary>
/// The embedded broker (<c>sqlite://</c>): queues in one SQLite file that many processes share — producers, several
/// worker processes, a dashboard. No server to run; the default when no broker is configured.
/// </summary>
/// <remarks>
/// <para>The file is in WAL mode, so readers never wait for the writer; every change runs in a short
/// <c>BEGIN IMMEDIATE</c> transaction on a pooled connection, waiting up to <see cref="SqliteOptions.BusyTimeout"/>
/// for another writer. A fetch leases messages by stamping them with a fresh nonce and a visibility time (see
/// <see cref="SqliteSchema"/>); a lapsed lease makes the message visible again with its delivery count intact.</para>
/// <para>The file holds: this file (publish, declare, count, purge), <c>SqliteTransport.Fetch.cs</c> (leasing and idle
/// waiting), <c>SqliteTransport.Settle.cs</c> (ack, release, renew, dead-letter), <c>SqliteTransport.DeadLetters.cs</c> and
/// <c>SqliteTransport.Revokes.cs</c>, <c>SqliteTransport.RateLimits.cs</c> (cluster-wide rate limits),
/// <c>SqliteTransport.Broadcast.cs</c> (events and remote control).</para>
/// </remarks>
public sealed partial class SqliteTransport : ITransport, IDeadLetterStore, IRevokeStore
{
    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WakeUpSignal _published;
    private readonly ConcurrentDictionary<string, bool> _declared = new(StringComparer.Ordinal);

    /// <summary>Opens (and on first use creates) the broker in the file <paramref name="options"/> names.</summary>
    public SqliteTransport(SqliteOptions options, TimeProvider? timeProvider = null, ILogger<SqliteTransport>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger ?? NullLogger<SqliteTransport>.Instance;
        _database = new SqliteDatabase(options, _logger);
        _time = timeProvider ?? TimeProvider.System;
        _published = WakeUpSignal.For(options.Path, "messages");
    }

    /// <summary>True once disposed.</summary>
    internal bool IsDisposed => _database.IsDisposed;

    /// <summary>The file and connection settings.</summary>
    public SqliteOptions Options => _database.Options;

    /// <inheritdoc />
    public TransportCapabilities Capabilities => TransportCapabilities.DelayedDelivery | TransportCapabilities.DelayedPublish;

    /// <inheritdoc />
    public Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        return DeclareAsync([queue], cancellationToken);
    }

    /// <inheritdoc />
    public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) =>
        PublishBatchAsync([message], cancellationToken);

    /// <inheritdoc />
    public async Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) return;
        foreach (var message in messages) ArgumentException.ThrowIfNullOrEmpty(message?.Queue, nameof(messages));

        await StoreAsync([.. messages.Select(m => (m.Queue, m.Priority, KombuEnvelope.Encode(m.Envelope), m.NotBefore))], cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Stores bytes as they are, unchecked, as if a foreign producer had written them: what tests of a worker's handling of
    /// malformed messages, and tools that replay stored messages, need. Fennel's own producers publish envelopes.
    /// </summary>
    /// <param name="queue">The queue.</param>
    /// <param name="stored">The message in its stored form (kombu's JSON envelope, or anything else).</param>
    /// <param name="priority">0..9; higher is served first.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    internal Task PublishStoredAsync(string queue, ReadOnlyMemory<byte> stored, int priority = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        return StoreAsync([(queue, priority, stored.ToArray(), null)], cancellationToken);
    }

    private async Task StoreAsync(IReadOnlyList<(string Queue, int Priority, byte[] Body, DateTimeOffset? NotBefore)> messages, CancellationToken cancellationToken)
    {
        var newQueues = messages.Select(m => m.Queue).Distinct(StringComparer.Ordinal).Where(q => !_declared.ContainsKey(q)).ToList();
        await _database.WriteAsync(async command =>
        {
            var now = NowMs();
            await InsertQueuesAsync(command, newQueues, now, cancellationToken).ConfigureAwait(false);
            command.CommandText = """
                INSERT INTO messages (queue, priority, body, visible_at, enqueued_at)
                VALUES ($queue, $priority, $body, $visible_at, $now)
                """;
            var queue = command.Parameters.Add("$queue", SqliteType.Text);
            var priority = command.Parameters.Add("$priority", SqliteType.Integer);
            var body = command.Parameters.Add("$body", SqliteType.Blob);
            var visibleAt = command.Parameters.Add("$visible_at", SqliteType.Integer);
            command.Parameters.AddWithValue("$now", now);
            command.Prepare();
            foreach (var message in messages)
            {
                queue.Value = message.Queue;
                priority.Value = message.Priority;
                body.Value = message.Body;
                visibleAt.Value = message.NotBefore?.ToUnixTimeMilliseconds() ?? 0L;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var q in newQueues) _declared[q] = true;
        _published.Pulse();
    }

    /// <summary>
    /// The messages of <c>$queue</c> that wait (ready or delayed) or whose lease lapsed; those under a live lease stay
    /// with their holder. What purge deletes and queue length counts.
    /// </summary>
    private const string WaitingInQueue = "queue = $queue AND (lease_owner IS NULL OR visible_at <= $now)";

    /// <inheritdoc />
    public Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        return _database.WriteAsync(async command =>
        {
            command.CommandText = "DELETE FROM messages WHERE " + WaitingInQueue;
            command.Parameters.AddWithValue("$queue", queue);
            command.Parameters.AddWithValue("$now", NowMs());
            return (long)await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        return _database.ReadAsync(async command =>
        {
            command.CommandText = "SELECT COUNT(*) FROM messages WHERE " + WaitingInQueue;
            command.Parameters.AddWithValue("$queue", queue);
            command.Parameters.AddWithValue("$now", NowMs());
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken);
    }

    /// <summary>Stops broadcast subscriptions and closes the pooled connections to the file. Messages stay in it.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopBroadcastAsync().ConfigureAwait(false);
        _database.Dispose();
    }

    private async Task DeclareAsync(IEnumerable<string> queues, CancellationToken cancellationToken)
    {
        var newQueues = queues.Where(q => !_declared.ContainsKey(q)).Distinct(StringComparer.Ordinal).ToList();
        if (newQueues.Count == 0) return;
        await _database.WriteAsync(async command =>
        {
            await InsertQueuesAsync(command, newQueues, NowMs(), cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var q in newQueues) _declared[q] = true;
    }

    /// <summary>Records queues so declared and empty ones are listed too; leaves <paramref name="command"/> clean.</summary>
    private static async Task InsertQueuesAsync(SqliteCommand command, IReadOnlyList<string> queues, long now,
        CancellationToken cancellationToken)
    {
        if (queues.Count == 0) return;
        command.CommandText = "INSERT OR IGNORE INTO queues (name, created_at) VALUES ($name, $now)";
        var name = command.Parameters.Add("$name", SqliteType.Text);
        command.Parameters.AddWithValue("$now", now);
        foreach (var queue in queues)
        {
            name.Value = queue;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        command.Parameters.Clear();
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The bytes as an array SQLite can bind, without a copy when the memory is a whole array.</summary>
    private static byte[] ArrayOf(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();
}
