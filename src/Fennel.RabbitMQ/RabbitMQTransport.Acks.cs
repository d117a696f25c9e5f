using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

// Acks on the consumer channel, batched. Every delivery is recorded as unsettled (in delivery order: the client
// dispatches one delivery at a time), and an ack is queued rather than sent at once while another batch is being
// written. A batch is sent as one `multiple=true` ack for the longest run of queued tags at the bottom of the unsettled
// set (every delivery up to that tag is then settled), and single acks for the rest. A delivery leaves the set only
// when it is acked or nacked, so a multiple ack never covers a message still running, being republished or nacked.
public sealed partial class RabbitMQTransport
{
    private readonly Lock _ackLock = new();
    private readonly SortedSet<ulong> _unsettled = [];
    private readonly SortedSet<ulong> _acksQueued = [];
    private IChannel? _ackChannel;
    private TaskCompletionSource? _acksSent;
    private bool _acksFlushing;

    /// <summary>Records a delivery on a consumer channel as unsettled. A new channel starts a new record.</summary>
    private void TrackDelivery(IChannel channel, ulong deliveryTag)
    {
        lock (_ackLock)
        {
            if (!ReferenceEquals(channel, _ackChannel))
            {
                // The old channel is gone and the broker has its deliveries back: nothing queued for it can be sent.
                _ackChannel = channel;
                _unsettled.Clear();
                _acksQueued.Clear();
                _acksSent?.TrySetResult();
                _acksSent = null;
            }
            _unsettled.Add(deliveryTag);
        }
    }

    /// <summary>Forgets a delivery settled another way (a nack); call after it was sent.</summary>
    private void Untrack(IChannel channel, ulong deliveryTag)
    {
        lock (_ackLock)
        {
            if (ReferenceEquals(channel, _ackChannel)) _unsettled.Remove(deliveryTag);
        }
    }

    /// <summary>
    /// Acks a delivery, together with the acks queued while the previous batch was written; completes when its batch
    /// was written to the channel.
    /// </summary>
    private Task AckDeliveryAsync(IChannel channel, ulong deliveryTag)
    {
        TaskCompletionSource sent;
        bool flush;
        lock (_ackLock)
        {
            if (!ReferenceEquals(channel, _ackChannel) || !_unsettled.Contains(deliveryTag))
            {
                return channel.BasicAckAsync(deliveryTag, multiple: false).AsTask(); // not recorded: alone, as it comes
            }
            _acksQueued.Add(deliveryTag);
            sent = _acksSent ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            flush = !_acksFlushing;
            _acksFlushing = true;
        }
        if (flush) _ = FlushAcksAsync();
        return sent.Task;
    }

    private async Task FlushAcksAsync()
    {
        while (true)
        {
            await Task.Yield(); // the acks of tasks finishing right now join this batch
            IChannel channel;
            TaskCompletionSource sent;
            ulong? upTo = null;
            var covered = 0;
            List<ulong> alone = [];
            lock (_ackLock)
            {
                if (_acksQueued.Count == 0 || _acksSent is null || _ackChannel is null)
                {
                    _acksFlushing = false;
                    return;
                }
                channel = _ackChannel;
                sent = _acksSent;
                _acksSent = null;
                foreach (var tag in _unsettled)
                {
                    if (!_acksQueued.Contains(tag)) break;
                    upTo = tag;
                    covered++;
                }
                foreach (var tag in _acksQueued)
                {
                    if (upTo is null || tag > upTo) alone.Add(tag);
                    _unsettled.Remove(tag);
                }
                _acksQueued.Clear();
            }
            try
            {
                if (upTo is { } last) await channel.BasicAckAsync(last, multiple: covered > 1).ConfigureAwait(false);
                foreach (var tag in alone) await channel.BasicAckAsync(tag, multiple: false).ConfigureAwait(false);
                sent.TrySetResult();
            }
            catch (Exception e)
            {
                sent.TrySetException(e); // each waiter logs it as its settle failure; the broker redelivers (counted)
            }
        }
    }
}
