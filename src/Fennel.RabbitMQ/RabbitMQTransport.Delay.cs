using System.Collections.Concurrent;
using System.Globalization;

namespace Fennel.RabbitMQ;

// Parking ETA tasks. RabbitMQ has no delayed delivery of its own (without a plugin), and a message held unacked until its
// ETA would block a prefetch slot and meet consumer_timeout. So a parked message goes to a delay queue for its due
// second, `fennel.delayed.<queue>.<unix second>`: it expires there at its due time (per-message TTL; every message in
// the queue is due the same second, so none waits behind another) and RabbitMQ dead-letters it back to its queue. The
// delay queue deletes itself (x-expires) a minute after its last message is due.
public sealed partial class RabbitMQTransport
{
    private const string DelayQueuePrefix = "fennel.delayed.";
    private readonly ConcurrentDictionary<string, long> _delayQueues = new(StringComparer.Ordinal);

    private async Task ParkAsync(HeldMessage message, DateTimeOffset due, CancellationToken cancellationToken)
    {
        var second = (long)Math.Ceiling((due - DateTimeOffset.UnixEpoch).TotalSeconds);
        var delayQueue = string.Create(CultureInfo.InvariantCulture, $"{DelayQueuePrefix}{message.Queue}.{second}");
        var now = _time.GetUtcNow();
        var wait = DateTimeOffset.FromUnixTimeSeconds(second) - now;
        if (!_delayQueues.ContainsKey(delayQueue))
        {
            var arguments = new Dictionary<string, object?>
            {
                ["x-dead-letter-exchange"] = "",
                ["x-dead-letter-routing-key"] = message.Queue,
                ["x-expires"] = (int)Math.Min(int.MaxValue, wait.TotalMilliseconds + 60_000),
            };
            await AdminAsync(channel => channel.QueueDeclareAsync(delayQueue, durable: true, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken),
                "declare the delay queue " + delayQueue).ConfigureAwait(false);
            _delayQueues[delayQueue] = second;
            foreach (var (name, dueSecond) in _delayQueues)
            {
                if (DateTimeOffset.FromUnixTimeSeconds(dueSecond) < now) _delayQueues.TryRemove(name, out _);
            }
        }
        var ms = Math.Max(0, (long)wait.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        await PublishOneAsync(delayQueue, AmqpMessage.Republish(message.Properties, message.DeliveryCount - 1, ms), message.Body, cancellationToken, redeclare: false)
            .ConfigureAwait(false);
        await SettleOriginalAsync(message, "park").ConfigureAwait(false);
    }

    private async Task<long> CountParkedAsync(string queue, CancellationToken cancellationToken)
    {
        long parked = 0;
        var prefix = DelayQueuePrefix + queue + ".";
        foreach (var (name, second) in _delayQueues)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || DateTimeOffset.FromUnixTimeSeconds(second) < _time.GetUtcNow()) continue;
            try
            {
                var ok = await AdminAsync(channel => channel.QueueDeclarePassiveAsync(name, cancellationToken), "count the delay queue " + name).ConfigureAwait(false);
                parked += ok.MessageCount;
            }
            catch (BrokerException)
            {
                _delayQueues.TryRemove(name, out _); // expired and deleted
            }
        }
        return parked;
    }
}
