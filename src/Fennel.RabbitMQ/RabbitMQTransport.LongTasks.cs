using System.Globalization;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

// Tasks that run longer than RabbitMQ's consumer_timeout allows a delivery to stay unacknowledged.
//
// RabbitMQ closes a channel whose oldest delivery stays unacked past consumer_timeout (30 min by default), and every
// message on it goes back to its queue: the long task would run again elsewhere while it still runs here. So once a
// message has been held for half the timeout, Fennel moves it to a lease queue of its own: a copy goes to
// `fennel.lease.<queue>.<id>`, a durable queue that dead-letters to the task's queue, with a per-message TTL as long as
// the worker's lease; then the original is acked. While the worker renews its lease, Fennel replaces the copy with a
// fresh one in a new lease queue and deletes the old queue (with its copy). If the worker dies, the last copy expires
// and RabbitMQ dead-letters it back to the task's queue, counted as a lost delivery. When the task finishes, Fennel
// deletes the lease queue. Nothing unacked stays on the channel for long, whatever consumer_timeout is.
public sealed partial class RabbitMQTransport
{
    private const string LeaseQueuePrefix = "fennel.lease.";
    private int _handedOff;

    private async Task HandOffAsync(HeldMessage message)
    {
        await message.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!_leased.ContainsKey(message.Tag) || message.LeaseQueue is not null) return; // settled meanwhile
            if (message.Generation != Volatile.Read(ref _generation) || !message.Channel.IsOpen) return; // the broker has it back
            var ttl = LeaseCopyTtl(message.LeaseEnd - _time.GetUtcNow());
            var leaseQueue = await PublishLeaseCopyAsync(message, ttl).ConfigureAwait(false);
            message.LeaseQueue = leaseQueue;
            message.LeaseCopyExpires = _time.GetUtcNow() + ttl;
            // Lower the prefetch first: once acked, the message no longer counts with the broker but still occupies the caller.
            Interlocked.Increment(ref _handedOff);
            await AdjustPrefetchAsync().ConfigureAwait(false);
            await AckDeliveryAsync(message.Channel, message.DeliveryTag).ConfigureAwait(false);
            Log.HandedOff(_logger, message.Tag, message.Queue, (_time.GetUtcNow() - message.ReceivedAt).TotalMinutes, leaseQueue);
        }
        catch (Exception e) when (e is BrokerException || RabbitMQErrors.IsRabbit(e))
        {
            Interlocked.Exchange(ref message.Busy, 0); // the watcher tries again
            Log.HandOffFailed(_logger, message.Tag, message.Queue, e);
        }
        finally
        {
            message.Gate.Release();
        }
    }

    /// <summary>Replaces the copy of a handed-off message with one that expires a lease from now.</summary>
    private async Task RotateLeaseQueueAsync(HeldMessage message, TimeSpan lease, CancellationToken cancellationToken)
    {
        await message.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (message.LeaseQueue is not { } old || !_leased.ContainsKey(message.Tag)) return;
            var ttl = LeaseCopyTtl(lease);
            var fresh = await PublishLeaseCopyAsync(message, ttl).ConfigureAwait(false);
            message.LeaseQueue = fresh;
            message.LeaseCopyExpires = _time.GetUtcNow() + ttl;
            await AdminAsync(channel => channel.QueueDeleteAsync(old, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken), "delete the lease queue " + old)
                .ConfigureAwait(false);
        }
        catch (BrokerException e)
        {
            Log.HandOffFailed(_logger, message.Tag, message.Queue, e);
        }
        finally
        {
            message.Gate.Release();
        }
    }

    /// <summary>The task finished (or went elsewhere): its lease queue and the copy in it go.</summary>
    private async Task DeleteLeaseQueueAsync(HeldMessage message, string leaseQueue)
    {
        message.LeaseQueue = null;
        try
        {
            await AdminAsync(channel => channel.QueueDeleteAsync(leaseQueue, ifUnused: false, ifEmpty: false), "delete the lease queue " + leaseQueue)
                .ConfigureAwait(false);
        }
        catch (BrokerException e)
        {
            // The copy expires back to the queue: the task would run again. Say so loudly.
            Log.SettleFailed(_logger, message.Tag, message.Queue, "delete lease queue " + leaseQueue, e);
        }
        Interlocked.Decrement(ref _handedOff);
        await AdjustPrefetchAsync().ConfigureAwait(false);
    }

    private async Task<string> PublishLeaseCopyAsync(HeldMessage message, TimeSpan ttl)
    {
        var leaseQueue = $"{LeaseQueuePrefix}{message.Queue}.{Guid.NewGuid():N}";
        var ms = (long)ttl.TotalMilliseconds;
        var arguments = new Dictionary<string, object?>
        {
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = message.Queue,
            ["x-expires"] = (int)Math.Min(int.MaxValue, ms + 60_000),
        };
        await AdminAsync(channel => channel.QueueDeclareAsync(leaseQueue, durable: true, exclusive: false, autoDelete: false, arguments),
            "declare the lease queue " + leaseQueue).ConfigureAwait(false);
        // Should the copy come back, the delivery running now was lost: it counts.
        var properties = AmqpMessage.Republish(message.Properties, message.DeliveryCount, ms.ToString(CultureInfo.InvariantCulture));
        await PublishOneAsync(leaseQueue, properties, message.Body, _disposing.Token, redeclare: false).ConfigureAwait(false);
        return leaseQueue;
    }

    private static TimeSpan LeaseCopyTtl(TimeSpan lease) => lease < TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : lease;

    private async Task AdjustPrefetchAsync()
    {
        await _consumerGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await ApplyPrefetchAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (BrokerException)
        {
            // The channel is gone; the next one starts with the right prefetch.
        }
        finally
        {
            _consumerGate.Release();
        }
    }
}
