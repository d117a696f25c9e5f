using System.Text.Json.Nodes;

namespace Fennel.Events;

/// <summary>
/// One Celery event, as a worker or a client publishes it on the <c>celeryev</c> exchange: the fields every event
/// carries, plus the fields of its type in the derived records. Fields Fennel does not know are kept in
/// <see cref="Extra"/> and written back by <see cref="CeleryEventCodec.Encode(CeleryEvent)"/>.
/// </summary>
public abstract record CeleryEvent
{
    /// <summary>The event type on the wire, e.g. <c>task-succeeded</c>; the routing key is this with <c>-</c> turned into <c>.</c>.</summary>
    public abstract string Type { get; }

    /// <summary>The node name of the sender (<c>worker@host</c>; for <c>task-sent</c>, the client's <c>gen&lt;pid&gt;@host</c>).</summary>
    public required string Hostname { get; init; }

    /// <summary>When the sender made the event, in Unix seconds (Celery's <c>timestamp</c> float).</summary>
    public required double Timestamp { get; init; }

    /// <summary>The sender's offset from UTC in whole hours (<c>utcoffset</c>), when sent.</summary>
    public int? UtcOffset { get; init; }

    /// <summary>The sender's process id (<c>pid</c>), when sent.</summary>
    public int? Pid { get; init; }

    /// <summary>The sender's Lamport clock (<c>clock</c>), when sent.</summary>
    public long? Clock { get; init; }

    /// <summary>Fields this model does not name, kept as sent (never null; empty when there are none).</summary>
    public JsonObject Extra { get; init; } = [];

    /// <summary><see cref="Timestamp"/> as a point in time.</summary>
    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(Timestamp * 1000));
}

/// <summary>An event of a type this model does not know (a newer Celery's, or a custom one); every field beyond the common ones is in <see cref="CeleryEvent.Extra"/>.</summary>
public sealed record UnknownEvent : CeleryEvent
{
    /// <summary>The type as sent.</summary>
    public required string EventType { get; init; }

    /// <inheritdoc />
    public override string Type => EventType;
}
