using System.Collections.Concurrent;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// The messages a worker holds under a lease, from fetch until each is settled exactly once: the one place that
/// acknowledges, releases (gives back), dead-letters and renews them, and the prefetch bound (a slot per message held,
/// fewer after a pool shrink, none for a rate-limited message waiting its turn). Every stage settles through it; it
/// calls only the broker. It also keeps what the <c>active</c>, <c>reserved</c> and <c>scheduled</c> inspections read.
/// </summary>
internal sealed class HeldMessages
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private readonly ITransport _transport;
    private readonly TimeSpan _lease;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _node;
    private readonly ConcurrentDictionary<string, Delivery> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TrackedRequest> _requests = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<string, bool> _withoutSlot = new(StringComparer.Ordinal);
    private int _withoutSlotCount;
    private int _prefetch;
    private int _slotsToRemove;
    private int _acking;

    public HeldMessages(ITransport transport, int prefetch, TimeSpan lease, TimeProvider time, ILogger logger, string node)
    {
        _transport = transport;
        _prefetch = prefetch;
        _slots = new SemaphoreSlim(prefetch);
        _lease = lease;
        _time = time;
        _logger = logger;
        _node = node;
    }

    /// <summary>How many messages may be held at once now (concurrency × prefetch multiplier).</summary>
    public int Prefetch => Volatile.Read(ref _prefetch);

    // ---- fetching ------------------------------------------------------------------------------------------------

    /// <summary>Waits up to <paramref name="wait"/> for a free prefetch slot; false when none came free meanwhile.</summary>
    public Task<bool> WaitForSlotAsync(TimeSpan wait, CancellationToken cancellationToken) => _slots.WaitAsync(wait, cancellationToken);

    /// <summary>Takes one more free slot now, if there is one.</summary>
    public bool TryTakeSlot() => _slots.Wait(0);

    /// <summary>Holds what a fetch returned (the slots were taken before it).</summary>
    public void Hold(IReadOnlyList<Delivery> deliveries)
    {
        foreach (var delivery in deliveries) _held[delivery.DeliveryTag] = delivery;
    }

    /// <summary>True while <paramref name="deliveryTag"/> is held (not settled yet).</summary>
    public bool Contains(string deliveryTag) => _held.ContainsKey(deliveryTag);

    /// <summary>
    /// Gives prefetch slots back, first paying what a shrink still owes (those slots disappear), so the fetch loop fetches
    /// less as held messages are settled.
    /// </summary>
    public void ReturnSlots(int count)
    {
        while (count > 0 && TryPayOwedSlot()) count--;
        if (count > 0) _slots.Release(count);
    }

    /// <summary>The pool grew: slots owed by an earlier shrink are cancelled first; the rest become new prefetch.</summary>
    public void Grow(int slots)
    {
        Interlocked.Add(ref _prefetch, slots);
        var forgiven = 0;
        while (forgiven < slots && TryPayOwedSlot()) forgiven++;
        if (slots > forgiven) _slots.Release(slots - forgiven);
    }

    /// <summary>The pool shrank: free slots go at once, the rest as held messages are settled.</summary>
    public void Shrink(int slots)
    {
        Interlocked.Add(ref _prefetch, -slots);
        Interlocked.Add(ref _slotsToRemove, slots);
        while (Volatile.Read(ref _slotsToRemove) > 0 && _slots.Wait(0)) ReturnSlots(1);
    }

    private bool TryPayOwedSlot()
    {
        while (true)
        {
            var owed = Volatile.Read(ref _slotsToRemove);
            if (owed <= 0) return false;
            if (Interlocked.CompareExchange(ref _slotsToRemove, owed - 1, owed) == owed) return true;
        }
    }

    /// <summary>
    /// A rate-limited message about to wait for its turn gives its prefetch slot back, so the worker keeps fetching
    /// other tasks — as long as fewer than <see cref="Prefetch"/> messages are held so (memory stays bounded: at most
    /// twice the prefetch is held). It stays outside the prefetch count until it is settled, through its turn, the pool
    /// and its run: taking a slot again when its turn comes would race the fetch loop, which holds free slots while it
    /// waits for messages, and delay the turn. False when it must keep its slot.
    /// </summary>
    public bool TryWaitWithoutSlot(Delivery delivery)
    {
        if (Interlocked.Increment(ref _withoutSlotCount) > Prefetch)
        {
            Interlocked.Decrement(ref _withoutSlotCount);
            return false;
        }
        _withoutSlot[delivery.DeliveryTag] = true;
        ReturnSlots(1);
        return true;
    }

    /// <summary>True when <see cref="Prefetch"/> rate-limited messages are already held without a slot.</summary>
    public bool WaitersWithoutSlotFull => Volatile.Read(ref _withoutSlotCount) >= Prefetch;

    /// <summary>False (and forgets it) when the message was held without a prefetch slot; true when it holds one.</summary>
    private bool HoldsSlot(string deliveryTag)
    {
        if (!_withoutSlot.TryRemove(deliveryTag, out _)) return true;
        Interlocked.Decrement(ref _withoutSlotCount);
        return false;
    }

    // ---- the requests inspections read -------------------------------------------------------------------------------

    /// <summary>The requests held now.</summary>
    public IReadOnlyList<TrackedRequest> Requests() => [.. _requests.Values];

    /// <summary>The dispatcher accepted it: reserved (or scheduled) from now until it is settled.</summary>
    public void Track(TaskJob job) => _requests[job.Delivery.DeliveryTag] = new TrackedRequest(job);

    /// <summary>A runner took it: active.</summary>
    public void Start(TaskJob job)
    {
        if (_requests.TryGetValue(job.Delivery.DeliveryTag, out var request)) request.Start(_time.GetUtcNow());
    }

    /// <summary>Its run is over (settled, or interrupted and about to be given back).</summary>
    public void Untrack(Delivery delivery) => _requests.TryRemove(delivery.DeliveryTag, out _);

    // ---- settling --------------------------------------------------------------------------------------------------

    /// <summary>Forgets a held message and frees its prefetch slot (if it held one); false when it was settled already.</summary>
    public bool Forget(Delivery delivery)
    {
        Untrack(delivery);
        if (!_held.TryRemove(delivery.DeliveryTag, out _)) return false;
        if (HoldsSlot(delivery.DeliveryTag)) ReturnSlots(1);
        return true;
    }

    /// <summary>Acknowledges (the task is done with); a failed ack is logged and the message returns after its lease.</summary>
    public async Task AckAsync(Delivery delivery, string taskId)
    {
        if (!_held.ContainsKey(delivery.DeliveryTag)) return;
        try
        {
            await _transport.AckAsync(delivery, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.SettleFailed(_logger, _node, delivery.DeliveryTag, taskId, "ack", ex);
        }
        Forget(delivery);
    }

    /// <summary>Acknowledges without holding the caller (it never throws); <see cref="AcksDoneAsync"/> waits for all.</summary>
    public async Task AckInBackgroundAsync(Delivery delivery, string taskId)
    {
        Interlocked.Increment(ref _acking);
        try
        {
            await AckAsync(delivery, taskId).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _acking);
        }
    }

    /// <summary>Waits until no acknowledgement is in flight (shutdown, once the runners are done).</summary>
    public async Task AcksDoneAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _acking) > 0) await Task.Delay(Poll, _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Gives a message back to the broker unacknowledged, visible again at once or at <paramref name="notBefore"/>; false
    /// when it was settled already.
    /// </summary>
    public async Task<bool> ReleaseAsync(Delivery delivery, string action, DateTimeOffset? notBefore = null)
    {
        if (!_held.ContainsKey(delivery.DeliveryTag)) return false;
        try
        {
            await _transport.ReleaseAsync(delivery, notBefore, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.SettleFailed(_logger, _node, delivery.DeliveryTag, "?", action, ex);
        }
        return Forget(delivery);
    }

    /// <summary>Gives back everything still held, running tasks included (cold shutdown).</summary>
    public async Task ReleaseAllAsync(string action)
    {
        foreach (var delivery in _held.Values.ToList()) await ReleaseAsync(delivery, action).ConfigureAwait(false);
    }

    /// <summary>Takes a message out of circulation with <paramref name="reason"/>; never drops it when the broker refuses.</summary>
    public async Task DeadLetterAsync(Delivery delivery, string reason)
    {
        if (!_held.ContainsKey(delivery.DeliveryTag)) return;
        try
        {
            await _transport.DeadLetterAsync(delivery, reason, CancellationToken.None).ConfigureAwait(false);
            Log.DeadLettered(_logger, delivery.DeliveryTag, delivery.Queue, reason);
        }
        catch (Exception ex)
        {
            // Never drop: if the dead-letter store fails the message stays leased, and comes back after the lease.
            Log.DeadLetterFailed(_logger, delivery.DeliveryTag, delivery.Queue, reason, ex);
        }
        Forget(delivery);
    }

    // ---- leases ----------------------------------------------------------------------------------------------------

    /// <summary>Renews the lease of every held message every third of a lease, until <paramref name="stop"/>.</summary>
    public async Task RenewLeasesAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_lease / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var held = _held.Values.ToList();
                if (held.Count == 0) continue;
                try
                {
                    await _transport.RenewAsync(held, _lease, stop).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.RenewFailed(_logger, _node, held.Count, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped: every message is settled or handed back.
        }
    }
}
