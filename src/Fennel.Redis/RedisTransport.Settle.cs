using System.Text.Json;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>Settling held messages. Each step is one script that first checks the caller still holds the message.</summary>
public sealed partial class RedisTransport
{
    /// <summary>
    /// Gives a message back unstarted: at once to the consuming end of its list (it comes out next), or, with
    /// <paramref name="notBefore"/>, parked in <c>unacked</c> until due — out of every worker's memory, and restored by
    /// any consumer, Fennel or kombu, when due.
    /// </summary>
    public async Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var tag = RedisDeliveryTag.Parse(delivery.DeliveryTag);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var done = notBefore is { } due && due > _time.GetUtcNow()
            ? await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Park, LeaseKeys(RedisKeys.Delayed(delivery.Queue)),
                [tag.Tag, tag.Nonce, LeaseScore(due)]), "park").ConfigureAwait(false)
            : await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Release, LeaseKeys(RedisKeys.List(delivery.Queue, tag.Step)),
                [tag.Tag, tag.Nonce, delivery.Body]), "release").ConfigureAwait(false);
        if ((int)done == 0) Log.SettleAfterLeaseLost(_logger, "release", tag.Tag, delivery.Queue);
        else if (notBefore is null) _wakeUp.Fire();
    }

    /// <summary>Renews the leases of every given message the caller still holds, in one round trip.</summary>
    public async Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        if (deliveries.Count == 0) return;
        var arguments = new RedisValue[1 + 2 * deliveries.Count];
        arguments[0] = LeaseScore(_time.GetUtcNow() + lease);
        var i = 1;
        foreach (var delivery in deliveries)
        {
            var tag = RedisDeliveryTag.Parse(delivery.DeliveryTag);
            arguments[i++] = tag.Tag;
            arguments[i++] = tag.Nonce;
        }
        var database = await DatabaseAsync().ConfigureAwait(false);
        await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Renew, LeaseKeys(), arguments), "renew leases").ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        var tag = RedisDeliveryTag.Parse(delivery.DeliveryTag);
        var now = _time.GetUtcNow();
        var record = new DeadLetterRecord(Guid.NewGuid().ToString("N"), delivery.Queue, System.Text.Encoding.UTF8.GetString(delivery.Body.Span),
            reason, tag.Tag, tag.Step, delivery.DeliveryCount, UnixSeconds(now));
        var database = await DatabaseAsync().ConfigureAwait(false);
        var done = await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.DeadLetter, LeaseKeys(),
            [tag.Tag, tag.Nonce, record.Id, JsonSerializer.Serialize(record, DeadLetterRecord.Json), Format(record.At), "held"]), "dead-letter")
            .ConfigureAwait(false);
        if ((int)done == 0) Log.SettleAfterLeaseLost(_logger, "dead-letter", tag.Tag, delivery.Queue);
    }
}
