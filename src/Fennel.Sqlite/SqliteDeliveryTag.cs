using System.Globalization;

namespace Fennel.Sqlite;

/// <summary>
/// The <see cref="Transport.Delivery.DeliveryTag"/> of a SQLite delivery: <c>&lt;row id&gt;:&lt;lease nonce&gt;</c>.
/// The nonce is new for every fetch, so a holder whose lease lapsed (and whose message went to someone else) cannot
/// ack, renew or release the new holder's lease: its nonce no longer matches <c>lease_owner</c>.
/// </summary>
internal readonly record struct SqliteDeliveryTag(long Id, string Nonce)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Id}:{Nonce}");

    /// <summary>Reads a tag this transport wrote.</summary>
    /// <exception cref="ArgumentException">The tag did not come from a SQLite transport.</exception>
    public static SqliteDeliveryTag Parse(string tag)
    {
        var colon = tag.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && colon < tag.Length - 1
            && long.TryParse(tag.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return new SqliteDeliveryTag(id, tag[(colon + 1)..]);
        }
        throw new ArgumentException($"The delivery tag '{tag}' did not come from a SQLite transport.", nameof(tag));
    }
}
