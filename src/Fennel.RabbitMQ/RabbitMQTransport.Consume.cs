using System.Collections.Concurrent;
using Fennel.Transport;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Fennel.RabbitMQ;

// Consuming: one channel with a consumer per queue, a small buffer of pushed messages the caller fetches from, and the
// counting of redeliveries (a classic queue only flags them; Fennel republishes them with a count).
public sealed partial class RabbitMQTransport
{
    private static readonly TimeSpan ArrivalGrace = TimeSpan.FromSeconds(1);
    private readonly Lock _bufferLock = new();
    private readonly List<HeldMessage> _buffer = [];
    private readonly ConcurrentDictionary<string, HeldMessage> _leased = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _consumerGate = new(1, 1);
    private readonly ConcurrentDictionary<string, bool> _consumedQueues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _consumerTags = new(StringComparer.Ordinal); // read without the gate on the fast path
    private readonly ConcurrentDictionary<string, long> _stoppedAt = new(StringComparer.Ordinal); // queue → _consumeEpoch when StopConsumingAsync ran
    private long _consumeEpoch;
    private TaskCompletionSource _arrival = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IChannel? _consumer;
    private int _generation;
    private ushort _prefetchWanted;
    private ushort _prefetchSet;
    private long _sequence;
    private volatile bool _connectionDown;
    private volatile bool _alone;

    /// <summary>
    /// Takes up to <paramref name="maxMessages"/> messages pushed by the broker for <paramref name="queues"/>, highest
    /// priority first. The first fetch for a queue starts its consumer. The broker's prefetch (channel-wide, as Celery
    /// sets it) is the most the caller has held plus asked for at once, so a worker asking for its free slots keeps
    /// exactly its prefetch in flight. While the connection is being recovered the fetch waits instead of failing, so the worker
    /// resumes the moment it is back.
    /// </summary>
    public async Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var deadline = _time.GetUtcNow() + wait;
        var window = _leased.Count + maxMessages;
        // A queue stopped while this fetch was on its way (cancel_consumer) is not consumed again by it.
        var epoch = Volatile.Read(ref _consumeEpoch);
        if (!_stoppedAt.IsEmpty) queues = [.. queues.Where(q => !_stoppedAt.TryGetValue(q, out var stopped) || stopped <= epoch)];
        // Just started or widened, the broker is sending a burst: gather it rather than return its first message alone.
        var gather = !_connectionDown && await EnsureConsumingAsync(queues, window, cancellationToken).ConfigureAwait(false);
        StartWatcher();
        while (true)
        {
            var arrival = NextArrival();
            var taken = Take(queues, maxMessages, lease);
            var remaining = deadline - _time.GetUtcNow();
            if ((remaining <= TimeSpan.Zero || gather && taken.Count > 0) && taken.Count < maxMessages)
            {
                return [.. taken, .. await TakeWhatIsReadyAsync(queues, maxMessages - taken.Count, lease, cancellationToken).ConfigureAwait(false)];
            }
            if (taken.Count > 0) return taken;
            try
            {
                await arrival.WaitAsync(remaining, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return await TakeWhatIsReadyAsync(queues, maxMessages, lease, cancellationToken).ConfigureAwait(false);
            }
            if (!_connectionDown && _consumer is null) await EnsureConsumingAsync(queues, window, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// At the end of a fetch's wait: messages the broker still has ready for these queues are on their way (the consumer
    /// just started, or the prefetch just grew), so wait for them briefly rather than report an empty queue.
    /// </summary>
    private async Task<IReadOnlyList<Delivery>> TakeWhatIsReadyAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease,
        CancellationToken cancellationToken)
    {
        var graceEnd = _time.GetUtcNow() + ArrivalGrace;
        while (!_connectionDown && _consumer is not null && _time.GetUtcNow() < graceEnd)
        {
            var arrival = NextArrival();
            if (CountBuffered(queues) >= maxMessages) break;
            long ready = 0;
            foreach (var queue in queues)
            {
                ready += (await AdminAsync(channel => channel.QueueDeclarePassiveAsync(queue, cancellationToken), "count the queue " + queue)
                    .ConfigureAwait(false)).MessageCount;
            }
            try
            {
                // With nothing ready left, what the broker sent last may still be on the wire: one short last wait.
                await arrival.WaitAsync(TimeSpan.FromMilliseconds(ready == 0 ? 20 : 50), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                if (ready == 0) break;
            }
        }
        return Take(queues, maxMessages, lease);
    }

    private Task NextArrival()
    {
        lock (_bufferLock) return _arrival.Task;
    }

    private List<Delivery> Take(IReadOnlyList<string> queues, int max, TimeSpan lease)
    {
        List<HeldMessage> chosen;
        lock (_bufferLock)
        {
            if (_buffer.Count == 0) return [];
            chosen = _buffer.Where(m => queues.Contains(m.Queue, StringComparer.Ordinal))
                .OrderByDescending(m => m.Priority).ThenBy(m => m.Sequence).Take(max).ToList();
            foreach (var message in chosen) _buffer.Remove(message);
        }
        var leaseEnd = _time.GetUtcNow() + lease;
        var deliveries = new List<Delivery>(chosen.Count);
        foreach (var message in chosen)
        {
            message.LeaseEnd = leaseEnd;
            _leased[message.Tag] = message;
            deliveries.Add(new Delivery(message.Queue, message.ReadEnvelope, message.Tag, message.DeliveryCount));
        }
        return deliveries;
    }

    /// <summary>Opens the consumer channel when there is none, raises the prefetch when more is asked, and starts a consumer per new queue.</summary>
    /// <returns>True when something changed: the broker may be sending more now.</returns>
    private async Task<bool> EnsureConsumingAsync(IReadOnlyList<string> queues, int maxMessages, CancellationToken cancellationToken)
    {
        var wanted = (ushort)Math.Clamp(maxMessages, 1, ushort.MaxValue);
        if (_consumer is { IsOpen: true } && wanted <= _prefetchWanted && queues.All(_consumerTags.ContainsKey)) return false;
        await _consumerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var queue in queues)
            {
                _consumedQueues[queue] = true;
                _stoppedAt.TryRemove(queue, out _);
            }
            // Only ever raised: a worker's window (held + asked) stays at its prefetch, and a basic.qos per fetch would cost a round trip.
            var grew = wanted > _prefetchWanted;
            if (grew) _prefetchWanted = wanted;
            return await StartConsumersAsync(cancellationToken).ConfigureAwait(false) || grew;
        }
        finally
        {
            _consumerGate.Release();
        }
    }

    /// <summary>Brings the consumer channel in line with what is wanted. Call under <see cref="_consumerGate"/>.</summary>
    /// <returns>True when a consumer was started.</returns>
    private async Task<bool> StartConsumersAsync(CancellationToken cancellationToken)
    {
        var started = false;
        if (_consumer is not { IsOpen: true })
        {
            if (_consumer is { } dead) _ = DisposeQuietlyAsync(dead);
            _consumerTags.Clear();
            _prefetchSet = 0;
            var channel = await _connection.CreateChannelAsync(cancellationToken).ConfigureAwait(false);
            channel.ChannelShutdownAsync += OnConsumerShutdownAsync;
            Interlocked.Increment(ref _generation);
            _consumer = channel;
        }
        await ApplyPrefetchAsync(cancellationToken).ConfigureAwait(false);
        foreach (var queue in _consumedQueues.Keys)
        {
            if (_consumerTags.ContainsKey(queue)) continue;
            await EnsureQueueAsync(queue, cancellationToken).ConfigureAwait(false);
            var channel = _consumer;
            var generation = _generation;
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) => OnDeliveryAsync(channel, generation, queue, delivery);
            _consumerTags[queue] = await RabbitMQErrors.Guard(
                channel.BasicConsumeAsync(queue, autoAck: false, consumerTag: "", noLocal: false, exclusive: false, arguments: null, consumer, cancellationToken),
                Options, "consume from " + queue).ConfigureAwait(false);
            started = true;
        }
        return started;
    }

    /// <summary>
    /// Sets the channel-wide prefetch (<c>global</c>, as Celery sets it) to what the caller asked for, less the messages
    /// handed off to lease queues: those no longer count with the broker but still occupy the caller.
    /// </summary>
    private async Task ApplyPrefetchAsync(CancellationToken cancellationToken)
    {
        if (_consumer is not { } channel) return;
        var effective = _alone ? (ushort)1 : (ushort)Math.Max(1, _prefetchWanted - Volatile.Read(ref _handedOff));
        if (effective == _prefetchSet) return;
        await RabbitMQErrors.Guard(channel.BasicQosAsync(0, effective, global: true, cancellationToken), Options, "set the prefetch").ConfigureAwait(false);
        _prefetchSet = effective;
    }

    private Task OnDeliveryAsync(IChannel channel, int generation, string queue, BasicDeliverEventArgs delivery)
    {
        TrackDelivery(channel, delivery.DeliveryTag);
        var body = delivery.Body.ToArray();
        var properties = new BasicProperties(delivery.BasicProperties);
        if (delivery.Redelivered)
        {
            // A consumer lost it (or its lease lapsed). Republish it with the count raised, so the count survives the next loss.
            _ = CountRedeliveryAsync(channel, generation, queue, delivery.DeliveryTag, properties, body);
            return Task.CompletedTask;
        }
        var tag = $"{generation}.{delivery.DeliveryTag}";
        var count = AmqpMessage.LostDeliveries(properties) + 1;
        var message = new HeldMessage
        {
            Tag = tag,
            Queue = queue,
            Channel = channel,
            DeliveryTag = delivery.DeliveryTag,
            Generation = generation,
            Body = body,
            Properties = properties,
            Exchange = delivery.Exchange,
            RoutingKey = delivery.RoutingKey,
            DeliveryCount = count,
            Sequence = Interlocked.Increment(ref _sequence),
            ReceivedAt = _time.GetUtcNow(),
        };
        if (_alone)
        {
            // Pushed before the prefetch came down to one: give it back, uncounted, while a suspect task runs alone.
            _ = RequeueQuietlyAsync(message);
            return Task.CompletedTask;
        }
        TaskCompletionSource arrived;
        lock (_bufferLock)
        {
            if (generation != _generation) return Task.CompletedTask; // its channel is gone; the broker has it back
            _buffer.Add(message);
            arrived = _arrival;
            _arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        arrived.TrySetResult();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Republishes a redelivered message with its lost-delivery count raised and acks the original, both on the channel it
    /// came on: RabbitMQ handles a channel's frames in order, so the copy is queued before the original goes, and no copy
    /// can be delivered, start and take the process down while the original still waits for its ack (two copies).
    /// </summary>
    private async Task CountRedeliveryAsync(IChannel channel, int generation, string queue, ulong deliveryTag, BasicProperties properties, byte[] body)
    {
        try
        {
            if (generation != _generation || !channel.IsOpen) return; // the broker has it back
            var lost = AmqpMessage.LostDeliveries(properties) + 1;
            await channel.BasicPublishAsync("", queue, mandatory: false, AmqpMessage.Republish(properties, lost), body, _disposing.Token).ConfigureAwait(false);
            await channel.BasicAckAsync(deliveryTag, multiple: false).ConfigureAwait(false);
            Untrack(channel, deliveryTag);
        }
        catch (Exception e) when (e is OperationCanceledException || RabbitMQErrors.IsRabbit(e))
        {
            Log.RedeliveryCountFailed(_logger, queue, e);
        }
    }

    private Task OnConsumerShutdownAsync(object sender, ShutdownEventArgs e)
    {
        if (e.Initiator != ShutdownInitiator.Application && !IsDisposed)
        {
            Log.ChannelClosed(_logger, (sender as IChannel)?.ChannelNumber ?? 0, Options.Display, e.ReplyCode, e.ReplyText);
        }
        AbandonConsumer(sender as IChannel);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The consumer channel closed: the broker takes back every message it delivered on it, so forget them here (the
    /// buffered ones at once; leased ones can no longer be settled, their callers' settles change nothing).
    /// </summary>
    private void AbandonConsumer(IChannel? channel)
    {
        lock (_bufferLock)
        {
            if (channel is not null && !ReferenceEquals(channel, _consumer)) return;
            _consumer = null;
            Interlocked.Increment(ref _generation);
            _buffer.Clear();
        }
        foreach (var (tag, message) in _leased)
        {
            if (message.LeaseQueue is null && message.Generation != _generation) _leased.TryRemove(tag, out _);
        }
    }

    private void OnConnectionLost()
    {
        _connectionDown = true;
        AbandonConsumer(null);
    }

    /// <summary>After a reconnect: a new consumer channel and consumers for every queue consumed before.</summary>
    private async Task OnConnectionRecoveredAsync()
    {
        _connectionDown = false;
        if (IsDisposed) return;
        await _consumerGate.WaitAsync(_disposing.Token).ConfigureAwait(false);
        try
        {
            _declared.Clear(); // a broker that lost its state (not durable) needs the queues again
            if (!_consumedQueues.IsEmpty) await StartConsumersAsync(_disposing.Token).ConfigureAwait(false);
        }
        finally
        {
            _consumerGate.Release();
        }
        await ResubscribeAsync().ConfigureAwait(false);
        TaskCompletionSource arrived;
        lock (_bufferLock)
        {
            arrived = _arrival;
            _arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        arrived.TrySetResult();
    }

    /// <summary>
    /// While the caller runs a task that may take the process down, the broker pushes nothing more (prefetch 1, which the
    /// task itself fills) and what it pushed already goes back uncounted, so nothing else is lost with the process.
    /// </summary>
    public async Task HoldOnlyLeasedAsync(bool alone, CancellationToken cancellationToken = default)
    {
        _alone = alone;
        await AdjustPrefetchAsync().ConfigureAwait(false);
        if (!alone) return;
        List<HeldMessage> pushed;
        lock (_bufferLock)
        {
            pushed = [.. _buffer];
            _buffer.Clear();
        }
        foreach (var message in pushed) await RequeueQuietlyAsync(message).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task StopConsumingAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        await _consumerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _stoppedAt[queue] = Interlocked.Increment(ref _consumeEpoch);
            _consumedQueues.TryRemove(queue, out _);
            if (_consumerTags.TryRemove(queue, out var tag) && _consumer is { IsOpen: true } channel)
            {
                await RabbitMQErrors.Guard(channel.BasicCancelAsync(tag, noWait: false, cancellationToken), Options, "stop consuming " + queue).ConfigureAwait(false);
            }
        }
        finally
        {
            _consumerGate.Release();
        }
        // After the cancel nothing more arrives for the queue; what arrived before goes back.
        List<HeldMessage> pushed;
        lock (_bufferLock)
        {
            pushed = [.. _buffer.Where(m => string.Equals(m.Queue, queue, StringComparison.Ordinal))];
            foreach (var message in pushed) _buffer.Remove(message);
        }
        foreach (var message in pushed) await RequeueQuietlyAsync(message).ConfigureAwait(false);
    }

    private async Task RequeueQuietlyAsync(HeldMessage message)
    {
        try
        {
            await RequeueAsync(message, CancellationToken.None).ConfigureAwait(false);
        }
        catch (BrokerException e)
        {
            // Still unacked on its channel: it goes back when the channel closes, as a counted redelivery.
            Log.SettleFailed(_logger, message.Tag, message.Queue, "give back", e);
        }
    }

    private int CountBuffered(string queue) => CountBuffered([queue]);

    private bool IsConsuming(string queue)
    {
        return _consumer is not null && _consumedQueues.ContainsKey(queue);
    }

    private int CountBuffered(IReadOnlyList<string> queues)
    {
        lock (_bufferLock) return _buffer.Count(m => queues.Contains(m.Queue, StringComparer.Ordinal));
    }

    private async Task<long> PurgeBufferedAsync(string queue)
    {
        List<HeldMessage> purged;
        lock (_bufferLock)
        {
            purged = _buffer.Where(m => m.Queue == queue).ToList();
            foreach (var message in purged) _buffer.Remove(message);
        }
        foreach (var message in purged) await SettleOriginalAsync(message, "purge").ConfigureAwait(false);
        return purged.Count;
    }

    /// <summary>Cancels the consumers and gives back what was received but never fetched, without counting a delivery.</summary>
    private async Task StopConsumingAsync()
    {
        if (_watcher is { } watcher)
        {
            try { await watcher.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        IChannel? channel;
        List<HeldMessage> unfetched;
        await _consumerGate.WaitAsync().ConfigureAwait(false);
        try
        {
            channel = _consumer;
            if (channel is { IsOpen: true })
            {
                foreach (var tag in _consumerTags.Values)
                {
                    try
                    {
                        await channel.BasicCancelAsync(tag).ConfigureAwait(false);
                    }
                    catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
                    {
                        break;
                    }
                }
            }
            lock (_bufferLock)
            {
                unfetched = [.. _buffer];
                _buffer.Clear();
            }
        }
        finally
        {
            _consumerGate.Release();
        }
        foreach (var message in unfetched)
        {
            try
            {
                await RequeueAsync(message, CancellationToken.None).ConfigureAwait(false);
            }
            catch (BrokerException)
            {
                break; // the channel closes below and the broker takes the rest back (as redeliveries)
            }
        }
        if (channel is not null) await DisposeQuietlyAsync(channel).ConfigureAwait(false);
    }
}
