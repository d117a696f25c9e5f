using System.Collections.Concurrent;
using Fennel.Configuration;
using Fennel.Transport;

namespace Fennel.Worker;

// Fetching and holding messages: the prefetch bound, leases kept alive, and settling each message exactly once.
public sealed partial class Worker
{
    private static readonly TimeSpan FetchWait = TimeSpan.FromSeconds(1);
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
                await _slots.WaitAsync(stop).ConfigureAwait(false);
                taken = 1;
                while (taken < Prefetch && _slots.Wait(0)) taken++;
                var deliveries = await _transport.FetchAsync(Queues, taken, Options.LeaseDuration, FetchWait, stop).ConfigureAwait(false);
                foreach (var delivery in deliveries) _held[delivery.DeliveryTag] = delivery;
                if (taken > deliveries.Count) _slots.Release(taken - deliveries.Count);
                taken = 0;
                backoff = TimeSpan.FromSeconds(1);
                foreach (var delivery in deliveries) await DispatchAsync(delivery).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                if (taken > 0) _slots.Release(taken);
                break;
            }
            catch (Exception ex)
            {
                // The broker is down or refused: nothing was taken, so nothing is lost. Try again with a growing pause.
                if (taken > 0) _slots.Release(taken);
                Log.FetchFailed(_logger, Name, BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl), backoff.TotalSeconds, ex);
                try
                {
                    await Task.Delay(backoff, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
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

    /// <summary>Gives back every message fetched but not started: queued for the pool or waiting for its ETA.</summary>
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

    /// <summary>Forgets a held message and frees its prefetch slot; false when it was settled already.</summary>
    private bool Forget(Delivery delivery)
    {
        if (!_held.TryRemove(delivery.DeliveryTag, out _)) return false;
        _slots.Release();
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
