using System.Collections.Concurrent;
using Fennel.Transport;
using Microsoft.Data.Sqlite;

namespace Fennel.Sqlite;

/// <summary>
/// Broadcast on one file: a publish appends a row to <c>broadcasts</c>; every subscriber, in any process, reads the rows
/// after its cursor (the newest id when it subscribed) and keeps those of its exchange whose routing key matches its
/// binding (<see cref="BroadcastRouting"/>: topic, fanout, direct). Rows live about <see cref="BroadcastRetention"/>.
/// </summary>
/// <remarks>
/// <para>Ids are handed out inside write transactions, which SQLite runs one at a time, so a reader always sees a gapless
/// prefix of them: a cursor never skips a row committed later with a smaller id.</para>
/// <para>A subscriber polls every <see cref="BroadcastPollInterval"/> and at once when this process publishes to the file.
/// A subscriber that falls more than <see cref="BroadcastRetention"/> behind misses the trimmed rows, as a Celery
/// event receiver misses what its expired queue dropped.</para>
/// </remarks>
public sealed partial class SqliteTransport : IBroadcastTransport
{
    /// <summary>How long a broadcast stays in the file: long enough for any live subscriber to read it.</summary>
    private static readonly TimeSpan BroadcastRetention = TimeSpan.FromSeconds(60);

    /// <summary>How often a publisher trims old broadcasts, at most.</summary>
    private static readonly TimeSpan BroadcastTrimInterval = TimeSpan.FromSeconds(5);

    /// <summary>How often an idle subscriber looks for broadcasts from other processes.</summary>
    private static readonly TimeSpan BroadcastPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The most rows a subscriber reads in one query.</summary>
    private const int BroadcastBatch = 256;

    private readonly ConcurrentDictionary<BroadcastSubscription, bool> _broadcastSubscriptions = new();
    private long _nextBroadcastTrimMs;

    private WakeUpSignal BroadcastSignal => WakeUpSignal.For(Options.Path, "broadcasts");

    /// <inheritdoc />
    /// <remarks>Also trims broadcasts older than a minute, at most once every few seconds per transport.</remarks>
    public async Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(routingKey);
        var now = NowMs();
        var trim = now >= Interlocked.Read(ref _nextBroadcastTrimMs);
        await _database.WriteAsync(async command =>
        {
            command.CommandText = """
                INSERT INTO broadcasts (exchange, routing_key, body, created_at) VALUES ($exchange, $routing_key, $body, $now)
                RETURNING id
                """;
            command.Parameters.AddWithValue("$exchange", exchange);
            command.Parameters.AddWithValue("$routing_key", routingKey);
            command.Parameters.Add("$body", SqliteType.Blob).Value = ArrayOf(body);
            command.Parameters.AddWithValue("$now", now);
            var id = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            if (trim)
            {
                // Rows are in id order and (one machine, one clock) in time order too: delete up to the first young one,
                // which walks only the rows it deletes. The row just inserted is young, so the bound always exists.
                command.Parameters.Clear();
                command.CommandText = """
                    DELETE FROM broadcasts
                    WHERE id < COALESCE((SELECT id FROM broadcasts WHERE created_at >= $cutoff ORDER BY id LIMIT 1), $id)
                    """;
                command.Parameters.AddWithValue("$cutoff", now - (long)BroadcastRetention.TotalMilliseconds);
                command.Parameters.AddWithValue("$id", id);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return id;
        }, cancellationToken).ConfigureAwait(false);
        if (trim) Interlocked.Exchange(ref _nextBroadcastTrimMs, now + (long)BroadcastTrimInterval.TotalMilliseconds);
        BroadcastSignal.Pulse();
    }

    /// <inheritdoc />
    /// <remarks>
    /// Receives what is broadcast after this call returns, from any process on the file. <paramref name="subscriberName"/>
    /// is not used: a subscriber's cursor lives in memory, not in the file.
    /// </remarks>
    public async Task<IAsyncDisposable> SubscribeAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler,
        string? subscriberName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(exchange);
        ArgumentNullException.ThrowIfNull(bindingKey);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var cursor = await _database.ReadAsync(async command =>
        {
            command.CommandText = "SELECT COALESCE(MAX(id), 0) FROM broadcasts";
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }, cancellationToken).ConfigureAwait(false);
        var subscription = new BroadcastSubscription(this, exchange, bindingKey, handler, cursor);
        _broadcastSubscriptions[subscription] = true;
        subscription.Start();
        return subscription;
    }

    /// <summary>Stops every subscription of this transport, waiting for handlers that are running.</summary>
    private async Task StopBroadcastAsync()
    {
        foreach (var subscription in _broadcastSubscriptions.Keys) await subscription.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The broadcasts of <paramref name="exchange"/> after <paramref name="cursor"/>, oldest first; the new cursor; and
    /// whether the batch was full, so more may follow at once.
    /// </summary>
    private Task<(List<BroadcastMessage> Messages, long Cursor, bool Full)> ReadBroadcastsAsync(string exchange, long cursor, CancellationToken cancellationToken) =>
        _database.ReadAsync(async command =>
        {
            // Rows of other exchanges move the cursor too (the last id read), so they are never looked at again.
            command.CommandText = """
                SELECT id, exchange = $exchange, routing_key, body FROM broadcasts WHERE id > $cursor ORDER BY id LIMIT $limit
                """;
            command.Parameters.AddWithValue("$exchange", exchange);
            command.Parameters.AddWithValue("$cursor", cursor);
            command.Parameters.AddWithValue("$limit", BroadcastBatch);
            var messages = new List<BroadcastMessage>();
            var rows = 0;
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows++;
                    cursor = reader.GetInt64(0);
                    if (reader.GetInt64(1) == 1) messages.Add(new BroadcastMessage(exchange, reader.GetString(2), (byte[])reader.GetValue(3)));
                }
            }
            return (messages, cursor, rows == BroadcastBatch);
        }, cancellationToken);

    /// <summary>One subscriber: a loop that reads after its cursor and runs the handler for each match, in order.</summary>
    private sealed class BroadcastSubscription(SqliteTransport transport, string exchange, string bindingKey, Func<BroadcastMessage, Task> handler, long cursor)
        : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stopping = new();
        private readonly BroadcastExchangeKind _kind = BroadcastRouting.KindOf(exchange);
        private Task _loop = Task.CompletedTask;
        private int _disposed;

        public void Start() => _loop = Task.Run(RunAsync);

        private async Task RunAsync()
        {
            var token = _stopping.Token;
            var signal = transport.BroadcastSignal;
            while (!token.IsCancellationRequested)
            {
                var pulse = signal.NextPulse;
                var more = false;
                try
                {
                    (var messages, cursor, more) = await transport.ReadBroadcastsAsync(exchange, cursor, token).ConfigureAwait(false);
                    foreach (var message in messages)
                    {
                        if (token.IsCancellationRequested) return;
                        if (BroadcastRouting.Matches(_kind, bindingKey, message.RoutingKey)) await DeliverAsync(message).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return; // The transport was disposed under us.
                }
                catch (BrokerException e)
                {
                    Log.BroadcastReadFailed(transport._logger, exchange, transport.Options.Path, e);
                }

                // A cancelled delay completes the wait too; the loop condition then ends it.
                if (!more) await Task.WhenAny(pulse, Task.Delay(BroadcastPollInterval, transport._time, token)).ConfigureAwait(false);
            }
        }

        private async Task DeliverAsync(BroadcastMessage message)
        {
            try
            {
                await handler(message).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A failing handler must not end the subscription: log and go on with the next message.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.BroadcastHandlerFailed(transport._logger, exchange, message.RoutingKey, e);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            transport._broadcastSubscriptions.TryRemove(this, out _);
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            _stopping.Dispose();
        }
    }
}
