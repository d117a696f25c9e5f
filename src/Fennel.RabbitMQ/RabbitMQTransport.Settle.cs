using Fennel.Transport;

namespace Fennel.RabbitMQ;

// Settling a held message (ack, release, dead-letter), renewing leases, and the watcher that gives back messages whose
// lease lapsed and moves long-running ones to lease queues before RabbitMQ's consumer_timeout.
public sealed partial class RabbitMQTransport
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);
    private Task? _watcher;
    private int _watching;

    /// <inheritdoc />
    public async Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (!TryTake(delivery, "ack", out var message)) return;
        await message.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await SettleOriginalAsync(message, "ack").ConfigureAwait(false);
        }
        finally
        {
            message.Gate.Release();
        }
    }

    /// <summary>
    /// Gives a message back without counting a delivery: a copy goes to the end of its queue (or, with
    /// <paramref name="notBefore"/>, to a delay queue until then) and the original is acked.
    /// </summary>
    public async Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (!TryTake(delivery, "release", out var message)) return;
        await message.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (notBefore is { } due && due > _time.GetUtcNow()) await ParkAsync(message, due, cancellationToken).ConfigureAwait(false);
            else await RequeueAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _leased.TryAdd(message.Tag, message); // still held: the lease lapses or the channel closes, and the broker has it
            throw;
        }
        finally
        {
            message.Gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        var end = _time.GetUtcNow() + lease;
        foreach (var delivery in deliveries)
        {
            if (!_leased.TryGetValue(delivery.DeliveryTag, out var message)) continue;
            message.LeaseEnd = end;
            if (message.LeaseQueue is not null && message.LeaseCopyExpires - _time.GetUtcNow() < lease * 2 / 3)
            {
                await RotateLeaseQueueAsync(message, lease, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Moves the message to the dead letters (<c>fennel.dead_letters</c>) with the reason, then acks the original.</summary>
    public async Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(reason);
        if (!TryTake(delivery, "dead-letter", out var message)) return;
        await message.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await StoreDeadLetterAsync(message, reason, cancellationToken).ConfigureAwait(false);
            await SettleOriginalAsync(message, "dead-letter").ConfigureAwait(false);
        }
        catch
        {
            _leased.TryAdd(message.Tag, message);
            throw;
        }
        finally
        {
            message.Gate.Release();
        }
    }

    private bool TryTake(Delivery delivery, string action, out HeldMessage message)
    {
        if (_leased.TryRemove(delivery.DeliveryTag, out message!)) return true;
        Log.SettleAfterLeaseLost(_logger, action, delivery.DeliveryTag, delivery.Queue);
        return false;
    }

    /// <summary>Puts a copy at the end of the queue with the same lost-delivery count, then settles the original.</summary>
    private async Task RequeueAsync(HeldMessage message, CancellationToken cancellationToken)
    {
        await PublishOneAsync(message.Queue, AmqpMessage.Republish(message.Properties, message.DeliveryCount - 1), message.Body, cancellationToken)
            .ConfigureAwait(false);
        await SettleOriginalAsync(message, "release").ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the original from the broker: an ack on its channel, or, for a message handed off to a lease queue, the
    /// deletion of that queue. A message whose channel is gone cannot be acked; the broker redelivers it (counted).
    /// </summary>
    private async Task SettleOriginalAsync(HeldMessage message, string action)
    {
        if (message.LeaseQueue is { } leaseQueue)
        {
            await DeleteLeaseQueueAsync(message, leaseQueue).ConfigureAwait(false);
            return;
        }
        if (message.Generation != Volatile.Read(ref _generation) || !message.Channel.IsOpen)
        {
            Log.SettleAfterLeaseLost(_logger, action, message.Tag, message.Queue);
            return;
        }
        try
        {
            await AckDeliveryAsync(message.Channel, message.DeliveryTag).ConfigureAwait(false);
        }
        catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
        {
            Log.SettleFailed(_logger, message.Tag, message.Queue, action, e);
        }
    }

    private void StartWatcher()
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0) _watcher = WatchAsync();
    }

    /// <summary>
    /// Every 100 ms: gives back leased messages whose lease lapsed (nack with requeue: the broker redelivers them and the
    /// next consumer counts the delivery), hands long-running ones off to lease queues, and gives back buffered messages
    /// nobody fetched for half the consumer timeout.
    /// </summary>
    private async Task WatchAsync()
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(WatchInterval, _time);
        var token = _disposing.Token;
        while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
        {
            var now = _time.GetUtcNow();
            var handOffAge = Options.ConsumerTimeout / 2;
            foreach (var (tag, message) in _leased)
            {
                if (message.LeaseEnd <= now)
                {
                    if (_leased.TryRemove(new KeyValuePair<string, HeldMessage>(tag, message))) await LapseAsync(message).ConfigureAwait(false);
                }
                else if (message.LeaseQueue is null && now - message.ReceivedAt >= handOffAge && Interlocked.Exchange(ref message.Busy, 1) == 0)
                {
                    _ = HandOffAsync(message);
                }
            }
            List<HeldMessage> stale;
            lock (_bufferLock)
            {
                stale = _buffer.Where(m => now - m.ReceivedAt >= handOffAge).ToList();
                foreach (var message in stale) _buffer.Remove(message);
            }
            foreach (var message in stale)
            {
                try
                {
                    await RequeueAsync(message, token).ConfigureAwait(false);
                }
                catch (BrokerException e)
                {
                    Log.SettleFailed(_logger, message.Tag, message.Queue, "return unfetched", e);
                }
            }
        }
    }

    /// <summary>A lease lapsed: the broker gets the message back now (a handed-off copy comes back when it expires).</summary>
    private async Task LapseAsync(HeldMessage message)
    {
        await message.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (message.LeaseQueue is not null || message.Generation != Volatile.Read(ref _generation) || !message.Channel.IsOpen) return;
            await message.Channel.BasicNackAsync(message.DeliveryTag, multiple: false, requeue: true).ConfigureAwait(false);
            Untrack(message.Channel, message.DeliveryTag);
        }
        catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
        {
            Log.SettleFailed(_logger, message.Tag, message.Queue, "lapse", e);
        }
        finally
        {
            message.Gate.Release();
        }
    }
}
