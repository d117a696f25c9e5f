using System.Globalization;

namespace Fennel.Redis;

/// <summary>
/// What <see cref="Fennel.Transport.Delivery.DeliveryTag"/> holds on Redis: <c>nonce:step:tag</c> — the nonce of the fetch
/// that leased the message, the priority step of the list it came from, and kombu's delivery tag (the key of
/// <c>unacked</c>, which stays the same across redeliveries).
/// </summary>
internal readonly record struct RedisDeliveryTag(string Nonce, int Step, string Tag)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Nonce}:{Step}:{Tag}");

    public static RedisDeliveryTag Parse(string deliveryTag)
    {
        ArgumentNullException.ThrowIfNull(deliveryTag);
        var first = deliveryTag.IndexOf(':', StringComparison.Ordinal);
        var second = first < 0 ? -1 : deliveryTag.IndexOf(':', first + 1);
        if (second < 0 || !int.TryParse(deliveryTag.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var step))
        {
            throw new ArgumentException($"'{deliveryTag}' is not a delivery tag of the Redis transport.", nameof(deliveryTag));
        }
        return new RedisDeliveryTag(deliveryTag[..first], step, deliveryTag[(second + 1)..]);
    }
}
