using Fennel.Protocol;
using Fennel.Results;

namespace Fennel.Transport.Memory;

/// <summary>
/// A broker inside one process (<c>memory://</c>), for unit tests and eager mode. It keeps the full contract
/// (leases, priorities, delayed delivery, dead letters) so code tested on it behaves the same on a real broker.
/// Nothing survives the process.
/// </summary>
public sealed partial class InMemoryTransport : ITransport, IDeadLetterStore, IRevokeStore
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, List<Entry>> _queues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Entry Entry, DateTimeOffset Until)> _leased = new(StringComparer.Ordinal);
    private readonly List<DeadLetter> _deadLetters = [];
    private readonly List<(long Position, Revocation Revocation)> _revokes = [];
    private long _revokePosition;
    private TaskCompletionSource _published = NewSignal();
    private long _sequence;

    /// <summary>Creates an empty broker.</summary>
    public InMemoryTransport(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public TransportCapabilities Capabilities => TransportCapabilities.DelayedDelivery | TransportCapabilities.DelayedPublish;

    /// <inheritdoc />
    public Task AddRevokesAsync(IReadOnlyList<Revocation> revocations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revocations);
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _revokes.RemoveAll(r => r.Revocation.ExpiresAt <= now);
            foreach (var revocation in revocations) _revokes.Add((++_revokePosition, revocation));
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<RevokePage> ReadRevokesAsync(string? cursor, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var after = cursor is null ? 0 : long.Parse(cursor, System.Globalization.CultureInfo.InvariantCulture);
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var page = _revokes.Where(r => r.Position > after).Take(limit).ToList();
            var next = page.Count > 0 ? page[^1].Position.ToString(System.Globalization.CultureInfo.InvariantCulture) : cursor;
            return Task.FromResult(new RevokePage([.. page.Select(r => r.Revocation).Where(r => r.ExpiresAt > now)], next));
        }
    }

    /// <inheritdoc />
    public Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default)
    {
        lock (_gate) QueueOf(queue);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) =>
        PublishBatchAsync([message], cancellationToken);

    /// <inheritdoc />
    public Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var stored = messages.Select(m => (m.Queue, Body: KombuEnvelope.Encode(m.Envelope), m.Priority, m.NotBefore)).ToList();
        Store(stored);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stores bytes as they are, unchecked, as if a foreign producer had written them: what tests of a worker's handling of
    /// malformed messages, and tools that replay stored messages, need. Fennel's own producers publish envelopes.
    /// </summary>
    /// <param name="queue">The queue.</param>
    /// <param name="stored">The message in its stored form (kombu's JSON envelope, or anything else).</param>
    /// <param name="priority">0..9; higher is served first.</param>
    /// <param name="cancellationToken">Not used: storing completes at once.</param>
    internal Task PublishStoredAsync(string queue, ReadOnlyMemory<byte> stored, int priority = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        Store([(queue, stored.ToArray(), priority, null)]);
        return Task.CompletedTask;
    }

    private void Store(IReadOnlyList<(string Queue, byte[] Body, int Priority, DateTimeOffset? NotBefore)> messages)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            foreach (var m in messages)
            {
                QueueOf(m.Queue).Add(new Entry(m.Queue, m.Body, m.Priority, m.NotBefore, ++_sequence, 0));
            }
            signal = _published;
            _published = NewSignal();
        }
        signal.TrySetResult();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queues);
        var deadline = _time.GetUtcNow() + wait;
        while (true)
        {
            Task signal;
            TimeSpan untilNextDue;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                ReturnLapsedLeases(now);
                var taken = new List<Delivery>();
                var ready = queues.SelectMany(QueueOf).Where(e => e.NotBefore is null || e.NotBefore <= now)
                    .OrderByDescending(e => e.Priority).ThenBy(e => e.Sequence).Take(maxMessages).ToList();
                foreach (var e in ready)
                {
                    QueueOf(e.Queue).Remove(e);
                    var delivered = e with { DeliveryCount = e.DeliveryCount + 1 };
                    var tag = Guid.NewGuid().ToString("N");
                    _leased[tag] = (delivered, now + lease);
                    taken.Add(new Delivery(e.Queue, delivered.Body, tag, delivered.DeliveryCount));
                }
                if (taken.Count > 0) return taken;
                var nextDue = queues.SelectMany(q => QueueOf(q)).Select(e => e.NotBefore).Where(t => t is not null).Min();
                var nextLease = _leased.Values.Select(l => (DateTimeOffset?)l.Until).Min();
                var next = new[] { nextDue, nextLease, deadline }.Where(t => t is not null).Min()!.Value;
                untilNextDue = next - now;
                signal = _published.Task;
                if (now >= deadline) return [];
            }
            var pause = untilNextDue < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : untilNextDue;
            await Task.WhenAny(signal, Task.Delay(pause, _time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <inheritdoc />
    public Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        lock (_gate) _leased.Remove(delivery.DeliveryTag);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        TaskCompletionSource? signal = null;
        lock (_gate)
        {
            if (_leased.Remove(delivery.DeliveryTag, out var held))
            {
                QueueOf(held.Entry.Queue).Add(held.Entry with { NotBefore = notBefore, DeliveryCount = held.Entry.DeliveryCount - 1 });
                signal = _published;
                _published = NewSignal();
            }
        }
        signal?.TrySetResult();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        lock (_gate)
        {
            var until = _time.GetUtcNow() + lease;
            foreach (var d in deliveries)
            {
                if (_leased.TryGetValue(d.DeliveryTag, out var held)) _leased[d.DeliveryTag] = (held.Entry, until);
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        lock (_gate)
        {
            // A holder whose lease lapsed no longer owns the message: someone else has it, so nothing is recorded.
            if (!_leased.Remove(delivery.DeliveryTag)) return Task.CompletedTask;
            _deadLetters.Add(new DeadLetter(Guid.NewGuid().ToString("N"), delivery.Queue, delivery.Body.ToArray(), reason,
                _time.GetUtcNow(), delivery.DeliveryCount));
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ReturnLapsedLeases(_time.GetUtcNow());
            var list = QueueOf(queue);
            long count = list.Count;
            list.Clear();
            return Task.FromResult(count);
        }
    }

    /// <inheritdoc />
    public Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ReturnLapsedLeases(_time.GetUtcNow());
            return Task.FromResult((long)QueueOf(queue).Count);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<DeadLetter>>(_deadLetters.AsEnumerable().Reverse().Take(limit).ToList());
    }

    /// <inheritdoc />
    public Task<bool> RequeueDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var index = _deadLetters.FindIndex(d => d.Id == id);
            if (index < 0) return Task.FromResult(false);
            var letter = _deadLetters[index];
            _deadLetters.RemoveAt(index);
            QueueOf(letter.Queue).Add(new Entry(letter.Queue, letter.Body.ToArray(), 0, null, ++_sequence, 0));
        }
        return Task.FromResult(true);
    }

    /// <inheritdoc />
    public Task<long> PurgeDeadLettersAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            long count = _deadLetters.Count;
            _deadLetters.Clear();
            return Task.FromResult(count);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private List<Entry> QueueOf(string queue)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        if (!_queues.TryGetValue(queue, out var list)) _queues[queue] = list = [];
        return list;
    }

    private void ReturnLapsedLeases(DateTimeOffset now)
    {
        foreach (var (tag, held) in _leased.Where(l => l.Value.Until <= now).ToList())
        {
            _leased.Remove(tag);
            QueueOf(held.Entry.Queue).Add(held.Entry);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record Entry(string Queue, byte[] Body, int Priority, DateTimeOffset? NotBefore, long Sequence, int DeliveryCount);
}
