using System.Globalization;
using System.Text;
using Fennel.Transport;
using Microsoft.Data.Sqlite;

namespace Fennel.Sqlite;

/// <summary>Fetching: leasing ready messages, and waiting cheaply while there are none.</summary>
public sealed partial class SqliteTransport
{
    /// <summary>The first pause of an idle fetch; it doubles up to <see cref="MaxPause"/>.</summary>
    private static readonly TimeSpan MinPause = TimeSpan.FromMilliseconds(2);

    /// <summary>The longest pause of an idle fetch: the worst latency for a message published by another process.</summary>
    private static readonly TimeSpan MaxPause = TimeSpan.FromMilliseconds(100);

    /// <summary>Visibility is kept in whole milliseconds; a shorter sleep would only spin.</summary>
    private static readonly TimeSpan MinSleep = TimeSpan.FromMilliseconds(1);

    /// <inheritdoc />
    /// <remarks>
    /// While nothing is ready it polls with a read-only query (no write lock), pausing 2 ms, then twice as long each time
    /// up to 100 ms, never past the next due message or the end of <paramref name="wait"/>. A publish from this process
    /// wakes it at once. Across queues, higher priority comes first, then the oldest.
    /// </remarks>
    public async Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queues);
        if (queues.Count == 0) throw new ArgumentException("Fetch needs at least one queue.", nameof(queues));
        foreach (var queue in queues) ArgumentException.ThrowIfNullOrEmpty(queue, nameof(queues));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lease.Ticks, nameof(lease));

        await DeclareAsync(queues, cancellationToken).ConfigureAwait(false);
        var deadline = DeadlineAfter(_time.GetUtcNow(), wait);
        var pause = MinPause;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var published = _published.NextPulse;
            var nextVisible = await NextVisibleAtAsync(queues, cancellationToken).ConfigureAwait(false);
            if (nextVisible <= _time.GetUtcNow())
            {
                var taken = await LeaseAsync(queues, maxMessages, lease, cancellationToken).ConfigureAwait(false);
                if (taken.Count > 0) return taken;
                // Another consumer took them between the look and the lease: look again after the shortest pause.
                pause = MinPause;
            }

            var now = _time.GetUtcNow();
            if (now >= deadline) return [];
            var sleep = Min(pause, deadline - now);
            if (nextVisible > now) sleep = Min(sleep, nextVisible.Value - now);
            if (sleep < MinSleep) sleep = MinSleep;
            await Task.WhenAny(published, Task.Delay(sleep, _time, cancellationToken)).ConfigureAwait(false);
            pause = published.IsCompleted ? MinPause : Min(pause * 2, MaxPause);
        }
    }

    /// <summary>When the first message of <paramref name="queues"/> becomes visible (perhaps already); null when they are empty.</summary>
    private Task<DateTimeOffset?> NextVisibleAtAsync(IReadOnlyList<string> queues, CancellationToken cancellationToken) =>
        _database.ReadAsync(async command =>
        {
            // One MIN per queue, so each is a single step in the (queue, visible_at) index.
            var sql = new StringBuilder("SELECT MIN(v) FROM (");
            for (var i = 0; i < queues.Count; i++)
            {
                if (i > 0) sql.Append(" UNION ALL ");
                sql.Append(CultureInfo.InvariantCulture, $"SELECT MIN(visible_at) AS v FROM messages WHERE queue = $q{i}");
                command.Parameters.AddWithValue($"$q{i}", queues[i]);
            }
            command.CommandText = sql.Append(')').ToString();
            var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return value is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
        }, cancellationToken);

    /// <summary>Leases up to <paramref name="maxMessages"/> visible messages in one statement: atomic across processes.</summary>
    private async Task<IReadOnlyList<Delivery>> LeaseAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease,
        CancellationToken cancellationToken)
    {
        var nonce = Guid.NewGuid().ToString("N");
        var rows = await _database.WriteAsync(async command =>
        {
            var now = _time.GetUtcNow();
            // Each queue's best candidates come from its (queue, priority DESC, id) index with a LIMIT; the outer ORDER BY
            // merges them. One IN (...) over all queues would sort every ready row instead.
            var candidates = new StringBuilder();
            for (var i = 0; i < queues.Count; i++)
            {
                if (i > 0) candidates.Append(" UNION ALL ");
                candidates.Append(CultureInfo.InvariantCulture, $"""
                    SELECT * FROM (SELECT id, priority FROM messages INDEXED BY messages_by_order
                                   WHERE queue = $q{i} AND visible_at <= $now ORDER BY priority DESC, id LIMIT $limit)
                    """);
                command.Parameters.AddWithValue($"$q{i}", queues[i]);
            }
            command.CommandText = $"""
                UPDATE messages SET lease_owner = $nonce, visible_at = $until, delivery_count = delivery_count + 1
                WHERE id IN (SELECT id FROM ({candidates}) ORDER BY priority DESC, id LIMIT $limit)
                RETURNING id, queue, priority, body, delivery_count
                """;
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$until", (now + lease).ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$limit", maxMessages);
            command.Parameters.AddWithValue("$nonce", nonce);

            var leased = new List<(long Id, int Priority, Delivery Delivery)>();
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var id = reader.GetInt64(0);
                    var tag = new SqliteDeliveryTag(id, nonce).ToString();
                    leased.Add((id, reader.GetInt32(2), new Delivery(reader.GetString(1), reader.GetFieldValue<byte[]>(3), tag, reader.GetInt32(4))));
                }
            }
            return leased;
        }, cancellationToken).ConfigureAwait(false);

        // RETURNING gives rows in no particular order; hand them out in the order they were chosen.
        return rows.OrderByDescending(r => r.Priority).ThenBy(r => r.Id).Select(r => r.Delivery).ToList();
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary><paramref name="now"/> plus <paramref name="wait"/>, saturating instead of overflowing for huge waits.</summary>
    internal static DateTimeOffset DeadlineAfter(DateTimeOffset now, TimeSpan wait) =>
        wait >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : now + wait;
}
