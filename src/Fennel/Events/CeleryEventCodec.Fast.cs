using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Events;

// The fast path: events read straight from the UTF-8 bytes with a Utf8JsonReader, without building a JsonNode tree.
// It only takes input it can decode exactly as the JsonNode path does (DecodeEvent(JsonObject)) and answers false for
// anything else (a field of the wrong JSON type, a missing one, a duplicate, an escaped name, a field the event's type
// does not use, a non-string repr), so the caller falls back to the JsonNode path, which gives its own result or error.
internal static partial class CeleryEventCodec
{
    /// <summary>
    /// Decodes a kombu envelope carrying Celery events (what the Redis and SQLite transports broadcast) into
    /// <paramref name="events"/>; false, with <paramref name="events"/> left as it was, when the message is anything but
    /// the usual (a JSON body in base64, every event well formed), for the caller to decode it the general way.
    /// </summary>
    internal static bool TryDecodeMessage(ReadOnlySpan<byte> envelope, List<CeleryEvent> events)
    {
        var count = events.Count;
        byte[]? rented = null;
        try
        {
            if (!TryReadEnvelopeBody(envelope, out var start, out var length)) return false;
            var base64 = envelope.Slice(start, length);
            rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(base64.Length));
            if (Base64.DecodeFromUtf8(base64, rented, out var consumed, out var written) != OperationStatus.Done || consumed != base64.Length) return false;
            if (TryDecodeBodyCore(rented.AsSpan(0, written), events)) return true;
        }
        catch (JsonException)
        {
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
        events.RemoveRange(count, events.Count - count);
        return false;
    }

    /// <summary>The fast path of <see cref="DecodeBody"/>: false, with <paramref name="events"/> left as it was, when the JsonNode path must decide.</summary>
    internal static bool TryDecodeBodyFast(ReadOnlySpan<byte> utf8Json, List<CeleryEvent> events)
    {
        var count = events.Count;
        try
        {
            if (TryDecodeBodyCore(utf8Json, events)) return true;
        }
        catch (JsonException)
        {
        }
        catch (InvalidOperationException)
        {
        }
        events.RemoveRange(count, events.Count - count);
        return false;
    }

    /// <summary>
    /// Finds the base64 body of a kombu envelope as <see cref="Protocol.KombuEnvelope.Decode"/> and
    /// <see cref="Transport.MessageEnvelope.BodyJson"/> would accept it: an object with a <c>headers</c> object, a
    /// <c>properties</c> object saying <c>body_encoding: base64</c>, a JSON content type (or none), a <c>body</c> string.
    /// </summary>
    private static bool TryReadEnvelopeBody(ReadOnlySpan<byte> envelope, out int start, out int length)
    {
        (start, length) = (-1, 0);
        var reader = new Utf8JsonReader(envelope);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        bool headers = false, properties = false, base64 = false, contentType = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped) return false;
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("body"u8))
            {
                if (start >= 0 || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) return false;
                start = checked((int)reader.TokenStartIndex + 1);
                length = reader.ValueSpan.Length;
            }
            else if (name.SequenceEqual("headers"u8))
            {
                if (headers || reader.TokenType != JsonTokenType.StartObject) return false;
                headers = true;
                reader.Skip();
            }
            else if (name.SequenceEqual("properties"u8))
            {
                if (properties || reader.TokenType != JsonTokenType.StartObject) return false;
                properties = true;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueIsEscaped) return false;
                    if (reader.ValueSpan.SequenceEqual("body_encoding"u8))
                    {
                        reader.Read();
                        if (base64 || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped
                            || !System.Text.Ascii.EqualsIgnoreCase(reader.ValueSpan, "base64"u8)) return false;
                        base64 = true;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else if (name.SequenceEqual("content-type"u8))
            {
                if (contentType || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped
                    || !System.Text.Ascii.EqualsIgnoreCase(reader.ValueSpan, "application/json"u8)) return false;
                contentType = true;
            }
            else
            {
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
        return start >= 0 && headers && base64;
    }

    private static bool TryDecodeBodyCore(ReadOnlySpan<byte> utf8Json, List<CeleryEvent> events)
    {
        var reader = new Utf8JsonReader(utf8Json);
        string? hostname = null; // a batch comes from one sender: its events share one hostname string
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject || TryReadEvent(ref reader, ref hostname) is not { } e) return false;
                events.Add(e);
            }
            if (reader.TokenType != JsonTokenType.EndArray) return false;
        }
        else if (reader.TokenType == JsonTokenType.StartObject)
        {
            if (TryReadEvent(ref reader, ref hostname) is not { } e) return false;
            events.Add(e);
        }
        else return false;
        return !reader.Read();
    }

    /// <summary>The fields the fast path knows; each is always read the same way, whatever the event's type.</summary>
    [Flags]
    private enum Field : ulong
    {
        None = 0,
        Type = 1ul << 0, Hostname = 1ul << 1, Timestamp = 1ul << 2, UtcOffset = 1ul << 3, Pid = 1ul << 4, Clock = 1ul << 5,
        Uuid = 1ul << 6,
        Name = 1ul << 7, Args = 1ul << 8, Kwargs = 1ul << 9, RootId = 1ul << 10, ParentId = 1ul << 11, Retries = 1ul << 12,
        Eta = 1ul << 13, Expires = 1ul << 14,
        Queue = 1ul << 15, Exchange = 1ul << 16, RoutingKey = 1ul << 17,
        Result = 1ul << 18, Runtime = 1ul << 19, Exception = 1ul << 20, Traceback = 1ul << 21,
        Terminated = 1ul << 22, Signum = 1ul << 23, Expired = 1ul << 24, Requeue = 1ul << 25,
        Freq = 1ul << 26, Active = 1ul << 27, Processed = 1ul << 28, LoadAverage = 1ul << 29,
        SoftwareIdentity = 1ul << 30, SoftwareVersion = 1ul << 31, SoftwareSystem = 1ul << 32,
    }

    private const Field Common = Field.Type | Field.Hostname | Field.Timestamp | Field.UtcOffset | Field.Pid | Field.Clock;
    private const Field TaskFields = Common | Field.Uuid;
    private const Field DescriptionFields = TaskFields | Field.Name | Field.Args | Field.Kwargs | Field.RootId | Field.ParentId
        | Field.Retries | Field.Eta | Field.Expires;
    private const Field WorkerFields = Common | Field.Freq | Field.Active | Field.Processed | Field.LoadAverage
        | Field.SoftwareIdentity | Field.SoftwareVersion | Field.SoftwareSystem;

    private static Field FieldOf(ReadOnlySpan<byte> name) => name.Length switch
    {
        3 when name.SequenceEqual("pid"u8) => Field.Pid,
        3 when name.SequenceEqual("eta"u8) => Field.Eta,
        4 when name.SequenceEqual("type"u8) => Field.Type,
        4 when name.SequenceEqual("uuid"u8) => Field.Uuid,
        4 when name.SequenceEqual("name"u8) => Field.Name,
        4 when name.SequenceEqual("args"u8) => Field.Args,
        4 when name.SequenceEqual("freq"u8) => Field.Freq,
        5 when name.SequenceEqual("clock"u8) => Field.Clock,
        5 when name.SequenceEqual("queue"u8) => Field.Queue,
        6 when name.SequenceEqual("kwargs"u8) => Field.Kwargs,
        6 when name.SequenceEqual("result"u8) => Field.Result,
        6 when name.SequenceEqual("signum"u8) => Field.Signum,
        6 when name.SequenceEqual("active"u8) => Field.Active,
        6 when name.SequenceEqual("sw_ver"u8) => Field.SoftwareVersion,
        6 when name.SequenceEqual("sw_sys"u8) => Field.SoftwareSystem,
        7 when name.SequenceEqual("root_id"u8) => Field.RootId,
        7 when name.SequenceEqual("retries"u8) => Field.Retries,
        7 when name.SequenceEqual("expires"u8) => Field.Expires,
        7 when name.SequenceEqual("runtime"u8) => Field.Runtime,
        7 when name.SequenceEqual("expired"u8) => Field.Expired,
        7 when name.SequenceEqual("requeue"u8) => Field.Requeue,
        7 when name.SequenceEqual("loadavg"u8) => Field.LoadAverage,
        8 when name.SequenceEqual("hostname"u8) => Field.Hostname,
        8 when name.SequenceEqual("exchange"u8) => Field.Exchange,
        8 when name.SequenceEqual("sw_ident"u8) => Field.SoftwareIdentity,
        9 when name.SequenceEqual("timestamp"u8) => Field.Timestamp,
        9 when name.SequenceEqual("utcoffset"u8) => Field.UtcOffset,
        9 when name.SequenceEqual("parent_id"u8) => Field.ParentId,
        9 when name.SequenceEqual("exception"u8) => Field.Exception,
        9 when name.SequenceEqual("traceback"u8) => Field.Traceback,
        9 when name.SequenceEqual("processed"u8) => Field.Processed,
        10 when name.SequenceEqual("terminated"u8) => Field.Terminated,
        11 when name.SequenceEqual("routing_key"u8) => Field.RoutingKey,
        _ => Field.None,
    };

    /// <summary>One event object's known fields, as the JsonNode path's FieldReader would read them.</summary>
    private struct Fields
    {
        public Field Seen;
        public string? Type, Hostname, Uuid, Name, Args, Kwargs, RootId, ParentId, Eta, Expires, Queue, Exchange, RoutingKey;
        public string? Result, Exception, Traceback, SoftwareIdentity, SoftwareVersion, SoftwareSystem;
        public double? Timestamp, Runtime, Freq;
        public int? UtcOffset, Pid, Retries, Signum, Active;
        public long? Clock, Processed;
        public bool? Terminated, Expired, Requeue;
        public double[]? LoadAverage;
    }

    /// <summary>Reads one event object (the reader on its <c>{</c>, left on its <c>}</c>); null when the JsonNode path must decide.</summary>
    private static CeleryEvent? TryReadEvent(ref Utf8JsonReader reader, ref string? lastHostname)
    {
        var f = default(Fields);
        JsonObject? extra = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped) return null;
            var field = FieldOf(reader.ValueSpan);
            if (field == Field.None)
            {
                var name = reader.GetString()!;
                extra ??= [];
                if (extra.ContainsKey(name)) return null;
                extra[name] = JsonNode.Parse(ref reader);
                continue;
            }
            if ((f.Seen & field) != 0) return null;
            f.Seen |= field;
            reader.Read();
            var ok = field switch
            {
                Field.Type => TryType(ref reader, out f.Type),
                Field.Hostname => TryHostname(ref reader, ref lastHostname, out f.Hostname),
                Field.Uuid => TryString(ref reader, out f.Uuid),
                Field.Name => TryString(ref reader, out f.Name),
                Field.RootId => TryString(ref reader, out f.RootId),
                Field.ParentId => TryString(ref reader, out f.ParentId),
                Field.Eta => TryString(ref reader, out f.Eta),
                Field.Expires => TryString(ref reader, out f.Expires),
                Field.Queue => TryString(ref reader, out f.Queue),
                Field.Exchange => TryString(ref reader, out f.Exchange),
                Field.RoutingKey => TryString(ref reader, out f.RoutingKey),
                Field.Traceback => TryString(ref reader, out f.Traceback),
                Field.SoftwareIdentity => TryString(ref reader, out f.SoftwareIdentity),
                Field.SoftwareVersion => TryString(ref reader, out f.SoftwareVersion),
                Field.SoftwareSystem => TryString(ref reader, out f.SoftwareSystem),
                // Reprs: a string on the wire; anything else is left to the JsonNode path, which keeps its JSON text.
                Field.Args => TryString(ref reader, out f.Args),
                Field.Kwargs => TryString(ref reader, out f.Kwargs),
                Field.Result => TryString(ref reader, out f.Result),
                Field.Exception => TryString(ref reader, out f.Exception),
                Field.Timestamp => TryDouble(ref reader, out f.Timestamp),
                Field.Runtime => TryDouble(ref reader, out f.Runtime),
                Field.Freq => TryDouble(ref reader, out f.Freq),
                Field.UtcOffset => TryInt(ref reader, out f.UtcOffset),
                Field.Pid => TryInt(ref reader, out f.Pid),
                Field.Retries => TryInt(ref reader, out f.Retries),
                Field.Signum => TryInt(ref reader, out f.Signum),
                Field.Active => TryInt(ref reader, out f.Active),
                Field.Clock => TryLong(ref reader, out f.Clock),
                Field.Processed => TryLong(ref reader, out f.Processed),
                Field.Terminated => TryBool(ref reader, out f.Terminated),
                Field.Expired => TryBool(ref reader, out f.Expired),
                Field.Requeue => TryBool(ref reader, out f.Requeue),
                Field.LoadAverage => TryDoubles(ref reader, out f.LoadAverage),
                _ => false,
            };
            if (!ok) return null;
        }
        if (reader.TokenType != JsonTokenType.EndObject || f.Type is not { Length: > 0 } type) return null;

        var allowed = type switch
        {
            "task-sent" => DescriptionFields | Field.Queue | Field.Exchange | Field.RoutingKey,
            "task-received" => DescriptionFields,
            "task-started" => TaskFields,
            "task-succeeded" => TaskFields | Field.Result | Field.Runtime,
            "task-failed" or "task-retried" => TaskFields | Field.Exception | Field.Traceback,
            "task-revoked" => TaskFields | Field.Terminated | Field.Signum | Field.Expired,
            "task-rejected" => TaskFields | Field.Requeue,
            "worker-online" or "worker-heartbeat" or "worker-offline" => WorkerFields,
            _ => Common,
        };
        // A known field this type does not use belongs in Extra, in its place among the others: the JsonNode path keeps that order.
        if ((f.Seen & ~allowed) != 0) return null;
        if (f.Hostname is not { } hostname || f.Timestamp is not { } timestamp) return null;
        if ((allowed & Field.Uuid) != 0 && f.Uuid is null) return null;
        var uuid = f.Uuid!;

        CeleryEvent e = type switch
        {
            "task-sent" => new TaskSentEvent
            {
                Hostname = hostname, Timestamp = timestamp, TaskId = uuid,
                Name = f.Name, Args = f.Args, Kwargs = f.Kwargs, RootId = f.RootId, ParentId = f.ParentId, Retries = f.Retries,
                Eta = f.Eta, Expires = f.Expires, Queue = f.Queue, Exchange = f.Exchange, RoutingKey = f.RoutingKey,
            },
            "task-received" => new TaskReceivedEvent
            {
                Hostname = hostname, Timestamp = timestamp, TaskId = uuid,
                Name = f.Name, Args = f.Args, Kwargs = f.Kwargs, RootId = f.RootId, ParentId = f.ParentId, Retries = f.Retries,
                Eta = f.Eta, Expires = f.Expires,
            },
            "task-started" => new TaskStartedEvent { Hostname = hostname, Timestamp = timestamp, TaskId = uuid },
            "task-succeeded" => new TaskSucceededEvent
            {
                Hostname = hostname, Timestamp = timestamp, TaskId = uuid, Result = f.Result, Runtime = f.Runtime,
            },
            "task-failed" => new TaskFailedEvent
            {
                Hostname = hostname, Timestamp = timestamp, TaskId = uuid, Exception = f.Exception, Traceback = f.Traceback,
            },
            "task-retried" => new TaskRetriedEvent
            {
                Hostname = hostname, Timestamp = timestamp, TaskId = uuid, Exception = f.Exception, Traceback = f.Traceback,
            },
            "task-revoked" => new TaskRevokedEvent
            {
                Hostname = hostname, Timestamp = timestamp, TaskId = uuid, Terminated = f.Terminated, Signum = f.Signum, Expired = f.Expired,
            },
            "task-rejected" => new TaskRejectedEvent { Hostname = hostname, Timestamp = timestamp, TaskId = uuid, Requeue = f.Requeue },
            "worker-online" => SetWorker(new WorkerOnlineEvent { Hostname = hostname, Timestamp = timestamp }, f),
            "worker-heartbeat" => SetWorker(new WorkerHeartbeatEvent { Hostname = hostname, Timestamp = timestamp }, f),
            "worker-offline" => SetWorker(new WorkerOfflineEvent { Hostname = hostname, Timestamp = timestamp }, f),
            _ => new UnknownEvent { EventType = type, Hostname = hostname, Timestamp = timestamp },
        };
        return e with { UtcOffset = f.UtcOffset, Pid = f.Pid, Clock = f.Clock, Extra = extra ?? [] };
    }

    private static TEvent SetWorker<TEvent>(TEvent e, in Fields f) where TEvent : WorkerEvent => e with
    {
        Freq = f.Freq,
        Active = f.Active,
        Processed = f.Processed,
        LoadAverage = f.LoadAverage,
        SoftwareIdentity = f.SoftwareIdentity,
        SoftwareVersion = f.SoftwareVersion,
        SoftwareSystem = f.SoftwareSystem,
    };

    /// <summary>A type string; the known ones without allocating.</summary>
    private static bool TryType(ref Utf8JsonReader reader, out string? value)
    {
        value = reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped ? KnownType(reader.ValueSpan) : null;
        return value is not null || TryString(ref reader, out value);
    }

    private static string? KnownType(ReadOnlySpan<byte> type) => type.Length switch
    {
        9 when type.SequenceEqual("task-sent"u8) => "task-sent",
        12 when type.SequenceEqual("task-started"u8) => "task-started",
        11 when type.SequenceEqual("task-failed"u8) => "task-failed",
        12 when type.SequenceEqual("task-retried"u8) => "task-retried",
        12 when type.SequenceEqual("task-revoked"u8) => "task-revoked",
        13 when type.SequenceEqual("task-received"u8) => "task-received",
        13 when type.SequenceEqual("task-rejected"u8) => "task-rejected",
        14 when type.SequenceEqual("task-succeeded"u8) => "task-succeeded",
        13 when type.SequenceEqual("worker-online"u8) => "worker-online",
        14 when type.SequenceEqual("worker-offline"u8) => "worker-offline",
        16 when type.SequenceEqual("worker-heartbeat"u8) => "worker-heartbeat",
        _ => null,
    };

    /// <summary>A hostname; the previous event's string again when it is the same.</summary>
    private static bool TryHostname(ref Utf8JsonReader reader, ref string? last, out string? value)
    {
        if (last is not null && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(last))
        {
            value = last;
            return true;
        }
        if (!TryString(ref reader, out value)) return false;
        last = value ?? last;
        return true;
    }

    private static bool TryString(ref Utf8JsonReader reader, out string? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.String) return false;
        value = reader.GetString();
        return true;
    }

    private static bool TryDouble(ref Utf8JsonReader reader, out double? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var d)) return false;
        value = d;
        return true;
    }

    private static bool TryInt(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var i)) return false;
        value = i;
        return true;
    }

    private static bool TryLong(ref Utf8JsonReader reader, out long? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var l)) return false;
        value = l;
        return true;
    }

    private static bool TryBool(ref Utf8JsonReader reader, out bool? value)
    {
        value = reader.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => null,
        };
        return value is not null || reader.TokenType == JsonTokenType.Null;
    }

    private static bool TryDoubles(ref Utf8JsonReader reader, out double[]? values)
    {
        values = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.StartArray) return false;
        var list = new List<double>(3);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var d)) return false;
            list.Add(d);
        }
        values = [.. list];
        return true;
    }
}
