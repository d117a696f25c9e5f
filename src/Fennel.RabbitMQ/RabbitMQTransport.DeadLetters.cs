using System.Globalization;
using System.Text;
using Fennel.Transport;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

// The dead letters: a durable queue `fennel.dead_letters` holding each message as it was received, with the reason, the
// queue it came from, when and after how many deliveries in `fennel-dead-letter-*` headers. Listing and requeueing read
// it with basic.get on a channel of their own and give back (nack with requeue) what they do not take.
public sealed partial class RabbitMQTransport
{
    /// <summary>The queue holding dead letters.</summary>
    public const string DeadLetterQueue = "fennel.dead_letters";

    private const string DeadLetterHeaderPrefix = "fennel-dead-letter-";
    private const int MaxScanned = 100_000;
    private bool _deadLetterQueueDeclared;

    private async Task StoreDeadLetterAsync(HeldMessage message, string reason, CancellationToken cancellationToken)
    {
        await EnsureDeadLetterQueueAsync(cancellationToken).ConfigureAwait(false);
        var properties = AmqpMessage.Republish(message.Properties, 0);
        properties.Expiration = null;
        properties.DeliveryMode = DeliveryModes.Persistent;
        properties.Headers ??= new Dictionary<string, object?>();
        properties.Headers[DeadLetterHeaderPrefix + "id"] = Guid.NewGuid().ToString("N");
        properties.Headers[DeadLetterHeaderPrefix + "reason"] = reason;
        properties.Headers[DeadLetterHeaderPrefix + "queue"] = message.Queue;
        properties.Headers[DeadLetterHeaderPrefix + "at"] = _time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        properties.Headers[DeadLetterHeaderPrefix + "deliveries"] = message.DeliveryCount;
        await PublishOneAsync(DeadLetterQueue, properties, message.Body, cancellationToken, redeclare: false).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 0);
        var found = new List<DeadLetter>();
        await ScanDeadLettersAsync((result, letter) =>
        {
            found.Add(letter);
            return Task.FromResult(false);
        }, cancellationToken).ConfigureAwait(false);
        found.Reverse();
        return found.Take(limit).ToList();
    }

    /// <inheritdoc />
    public async Task<bool> RequeueDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var requeued = false;
        await ScanDeadLettersAsync(async (result, letter) =>
        {
            if (letter.Id != id) return false;
            var properties = new BasicProperties(result.BasicProperties)
            {
                Headers = result.BasicProperties.Headers?.Where(h => !h.Key.StartsWith(DeadLetterHeaderPrefix, StringComparison.Ordinal)
                    && h.Key != AmqpMessage.LostDeliveriesHeader).ToDictionary(h => h.Key, h => h.Value),
            };
            await EnsureQueueAsync(letter.Queue, cancellationToken).ConfigureAwait(false);
            await PublishOneAsync(letter.Queue, properties, result.Body, cancellationToken).ConfigureAwait(false);
            requeued = true;
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return requeued;
    }

    /// <inheritdoc />
    public async Task<long> PurgeDeadLettersAsync(CancellationToken cancellationToken = default)
    {
        await EnsureDeadLetterQueueAsync(cancellationToken).ConfigureAwait(false);
        return await AdminAsync(channel => channel.QueuePurgeAsync(DeadLetterQueue, cancellationToken), "purge the dead letters").ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the dead letters oldest first on a channel of its own; <paramref name="take"/> returns true to remove the one
    /// it was given (it is acked), and everything else goes back in its place.
    /// </summary>
    private async Task ScanDeadLettersAsync(Func<BasicGetResult, DeadLetter, Task<bool>> take, CancellationToken cancellationToken)
    {
        await EnsureDeadLetterQueueAsync(cancellationToken).ConfigureAwait(false);
        var channel = await _connection.CreateChannelAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var scanned = 0; scanned < MaxScanned; scanned++)
            {
                var result = await RabbitMQErrors.Guard(channel.BasicGetAsync(DeadLetterQueue, autoAck: false, cancellationToken), Options, "read the dead letters")
                    .ConfigureAwait(false);
                if (result is null) break;
                if (await take(result, ToDeadLetter(result)).ConfigureAwait(false))
                {
                    await channel.BasicAckAsync(result.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
                    break;
                }
            }
            // Closing the channel gives back every message it got and did not ack, in its place.
        }
        finally
        {
            await DisposeQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    private static DeadLetter ToDeadLetter(BasicGetResult result)
    {
        var headers = result.BasicProperties.Headers;
        string Text(string name) => headers is not null && headers.TryGetValue(DeadLetterHeaderPrefix + name, out var value)
            ? value switch { byte[] b => Encoding.UTF8.GetString(b), null => "", _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "" }
            : "";
        var queue = Text("queue");
        var at = long.TryParse(Text("at"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.MinValue;
        var deliveries = int.TryParse(Text("deliveries"), NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : 0;
        var envelope = AmqpMessage.ToKombuJson(result.Body.Span, result.BasicProperties, "", queue, redelivered: false, deliveryTag: Text("id"));
        return new DeadLetter(Text("id"), queue, envelope, Text("reason"), at, deliveries);
    }

    private async Task EnsureDeadLetterQueueAsync(CancellationToken cancellationToken)
    {
        if (_deadLetterQueueDeclared) return;
        await AdminAsync(channel => channel.QueueDeclareAsync(DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken),
            "declare the dead-letter queue").ConfigureAwait(false);
        _deadLetterQueueDeclared = true;
    }
}
