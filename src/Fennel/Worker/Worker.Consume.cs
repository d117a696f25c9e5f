using System.Collections.Concurrent;
using Fennel.Configuration;
using Fennel.Transport;

namespace Fennel.Worker;

// Fetching and holding messages: the prefetch bound, leases kept alive, and settling each message exactly once.
public sealed partial class Worker
{
    private static readonly TimeSpan FetchWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan IsolationPoll = TimeSpan.FromMilliseconds(20);
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<string, Delivery> _held = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopRenewing = new();

    private async Task ConsumeAsync()
    {
        var stop = _stopFetching.Token;
        var backoff = TimeSpan.FromSeconds(1);
        while (!stop.IsCancellationRequested)
        {
            var taken = 0;
            try
            {
                TouchFetchLoop();
                if (Queues.Count == 0)
                {
                    await Task.Delay(FetchWait, _time, stop).ConfigureAwait(false); // every queue cancelled: idle until one is added
                    continue;
                }
                // Every prefetch slot may be held by long tasks: wait in short steps, so the loop is seen alive meanwhile.
                while (!await _slots.WaitAsync(FetchWait, stop).ConfigureAwait(false)) TouchFetchLoop();
                taken = 1;
                while (taken < Prefetch && _slots.Wait(0)) taken++;
                var deliveries = await _transport.FetchAsync(Queues, taken, Options.LeaseDuration, FetchWait, stop).ConfigureAwait(false);
                TouchFetchLoop();
                foreach (var delivery in deliveries) _held[delivery.DeliveryTag] = delivery;
                if (taken > deliveries.Count) ReturnSlots(taken - deliveries.Count);
                taken = 0;
                backoff = TimeSpan.FromSeconds(1);
                if (deliveries.FirstOrDefault(IsSuspect) is { } suspect) await RunAloneAsync(suspect, deliveries, stop).ConfigureAwait(false);
                else foreach (var delivery in deliveries) await DispatchAsync(delivery).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                if (taken > 0) ReturnSlots(taken);
                break;
            }
            catch (Exception ex)
            {
                // The broker is down or refused: nothing was taken, so nothing is lost. Try again with a growing pause.
                if (taken > 0) ReturnSlots(taken);
                Log.FetchFailed(_logger, Name, BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl), backoff.TotalSeconds, ex);
                try
                {
                    await PauseAliveAsync(backoff, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>
    /// A message whose workers were lost at least twice (or once, when the next loss would reach the delivery limit): it
    /// may be what takes them down (a poison task that crashes its process). It runs alone, so that if it does so again, no
    /// other task is lost with it and counted: over the limit, ordinary tasks would be dead-lettered with the poison. A
    /// first redelivery (a worker killed once, a deploy) runs as usual, so recovering from one crash stays fast.
    /// </summary>
    private bool IsSuspect(Delivery delivery) =>
        delivery.DeliveryCount > 1 && delivery.DeliveryCount <= Options.MaxDeliveries
        && (delivery.DeliveryCount >= 3 || delivery.DeliveryCount == Options.MaxDeliveries);

    /// <summary>
    /// Gives back every unstarted message (the rest of this fetch and those queued for the pool, not counted as
    /// deliveries), waits for the running tasks to finish, runs <paramref name="suspect"/>, and fetches nothing until it
    /// is settled. Other suspects in the fetch come back one at a time.
    /// </summary>
    private async Task RunAloneAsync(Delivery suspect, IReadOnlyList<Delivery> fetched, CancellationToken stop)
    {
        Log.RunningAlone(_logger, suspect.DeliveryTag, suspect.Queue, suspect.DeliveryCount, Options.MaxDeliveries, Name);
        var pushing = _transport as IPrefetchingTransport;
        if (pushing is not null) await pushing.HoldOnlyLeasedAsync(alone: true, CancellationToken.None).ConfigureAwait(false);
        try
        {
            await RunAloneCoreAsync(suspect, fetched, stop).ConfigureAwait(false);
        }
        finally
        {
            if (pushing is not null) await pushing.HoldOnlyLeasedAsync(alone: false, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task RunAloneCoreAsync(Delivery suspect, IReadOnlyList<Delivery> fetched, CancellationToken stop)
    {
        foreach (var other in fetched)
        {
            if (!ReferenceEquals(other, suspect)) await ReleaseAsync(other, "make room for a redelivered task").ConfigureAwait(false);
        }
        while (_jobs.Reader.TryRead(out var queued)) await ReleaseAsync(queued.Delivery, "make room for a redelivered task").ConfigureAwait(false);
        try
        {
            while (Running > 0)
            {
                TouchFetchLoop();
                await Task.Delay(IsolationPoll, _time, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            await ReleaseAsync(suspect, "return unstarted").ConfigureAwait(false);
            throw;
        }
        await DispatchAsync(suspect).ConfigureAwait(false);
        // Until it is settled (or waits for its ETA): a shutdown meanwhile lets it finish like any running task.
        while (_held.ContainsKey(suspect.DeliveryTag) && !_waitingForEta.ContainsKey(suspect.DeliveryTag))
        {
            TouchFetchLoop();
            await Task.Delay(IsolationPoll, _time, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Notes that the fetch loop went round: see <see cref="LastFetchLoopActivity"/>.</summary>
    private void TouchFetchLoop() => Interlocked.Exchange(ref _fetchLoopTicks, _time.GetUtcNow().UtcTicks);

    /// <summary>Waits <paramref name="pause"/> (the broker retry back-off) in steps of at most <see cref="FetchWait"/>, alive.</summary>
    private async Task PauseAliveAsync(TimeSpan pause, CancellationToken stop)
    {
        var until = _time.GetUtcNow() + pause;
        for (var left = pause; left > TimeSpan.Zero; left = until - _time.GetUtcNow())
        {
            TouchFetchLoop();
            await Task.Delay(left < FetchWait ? left : FetchWait, _time, stop).ConfigureAwait(false);
        }
    }

    private async Task RenewLeasesAsync()
    {
        using var timer = new PeriodicTimer(Options.LeaseDuration / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopRenewing.Token).ConfigureAwait(false))
            {
                var held = _held.Values.ToList();
                if (held.Count == 0) continue;
                try
                {
                    await _transport.RenewAsync(held, Options.LeaseDuration, _stopRenewing.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.RenewFailed(_logger, Name, held.Count, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped: every message is settled or handed back.
        }
    }

    /// <summary>Gives back every message fetched but not started: queued for the pool, or waiting for its ETA or rate-limit turn.</summary>
    private async Task<int> ReturnUnstartedAsync()
    {
        var returned = 0;
        while (_jobs.Reader.TryRead(out var job))
        {
            if (await ReleaseAsync(job.Delivery, "return unstarted").ConfigureAwait(false)) returned++;
        }
        foreach (var (_, waiting) in _waitingForEta)
        {
            await waiting.Cancel.CancelAsync().ConfigureAwait(false);
            if (await waiting.Returned.ConfigureAwait(false)) returned++;
        }
        return returned;
    }

    /// <summary>Forgets a held message and frees its prefetch slot (if it held one); false when it was settled already.</summary>
    private bool Forget(Delivery delivery)
    {
        Untrack(delivery);
        if (!_held.TryRemove(delivery.DeliveryTag, out _)) return false;
        if (HoldsSlot(delivery.DeliveryTag)) ReturnSlots(1);
        return true;
    }

    private async Task AckAsync(Delivery delivery, string taskId)
    {
        if (!_held.ContainsKey(delivery.DeliveryTag)) return;
        try
        {
            await _transport.AckAsync(delivery, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.SettleFailed(_logger, Name, delivery.DeliveryTag, taskId, "ack", ex);
        }
        Forget(delivery);
    }

    private int _acking;

    /// <summary>Acknowledges without holding the caller (it never throws); <see cref="AcksDoneAsync"/> waits for all.</summary>
    private async Task AckInBackgroundAsync(Delivery delivery, string taskId)
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

    /// <summary>Waits until no acknowledgement is in flight (warm shutdown, once the runners are done).</summary>
    private async Task AcksDoneAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _acking) > 0) await Task.Delay(IsolationPoll, _time, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> ReleaseAsync(Delivery delivery, string action, DateTimeOffset? notBefore = null)
    {
        if (!_held.ContainsKey(delivery.DeliveryTag)) return false;
        try
        {
            await _transport.ReleaseAsync(delivery, notBefore, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.SettleFailed(_logger, Name, delivery.DeliveryTag, "?", action, ex);
        }
        return Forget(delivery);
    }

    private async Task DeadLetterAsync(Delivery delivery, string reason)
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
}
