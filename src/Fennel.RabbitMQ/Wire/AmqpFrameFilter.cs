using System.Buffers.Binary;

namespace Fennel.RabbitMQ;

/// <summary>
/// Follows the AMQP 0-9-1 frames a server sends, fed in chunks of any size, and rewrites the field-table type tag
/// <c>'L'</c> (a signed 64-bit integer, written by py-amqp for integers beyond ±2^31) to <c>'l'</c> (the same value
/// encoding, the tag RabbitMQ.Client reads) in the headers of content-header frames, nested tables and arrays
/// included. Every other byte passes unchanged and as soon as it arrives: only an incomplete content-header frame's
/// payload (a few hundred bytes, always below <see cref="MaxHeldPayload"/>) and what follows it wait for the rest.
/// </summary>
/// <remarks>
/// A frame is type (1), channel (2), size (4), payload (size), end (0xCE). The filter is not thread-safe: one reader
/// feeds it, in stream order. A chunk that completes its frames is rewritten in place and handed back; bytes that must
/// wait are copied into one buffer the filter keeps and reuses.
/// </remarks>
internal sealed class AmqpFrameFilter
{
    /// <summary>A content-header payload larger than this is passed on unfiltered rather than held (RabbitMQ's frame_max is 128 KiB).</summary>
    internal const int MaxHeldPayload = 1 << 20;

    private const int FrameHeaderSize = 7;
    private const byte ContentHeaderFrame = 2;
    private const ushort BasicClass = 60;
    private const int MaxDepth = 64;

    private readonly Action<int, string>? _rewritten;
    private State _state = State.Start;
    private int _headerFilled;
    private ulong _headerBits;
    private int _channel;
    private int _payloadSize;
    private long _remaining;
    private byte[] _kept = [];
    private int _keptStart;
    private int _keptDecided;
    private int _keptEnd;

    /// <param name="rewritten">Called with the channel and the top-level header name for every header whose value (or a value nested in it) was rewritten.</param>
    public AmqpFrameFilter(Action<int, string>? rewritten = null) => _rewritten = rewritten;

    private enum State
    {
        Start,
        FrameHeader,
        PassPayload,
        HoldPayload,
        Opaque,
    }

    /// <summary>True when bytes kept from earlier chunks are ready for <see cref="Drain"/>.</summary>
    public bool HasOutput => _keptStart < _keptDecided;

    /// <summary>
    /// Takes the next bytes of the stream. Returns how many of them, from the start of <paramref name="chunk"/>
    /// (rewritten in place), are ready now; the filter keeps the rest and hands it out through <see cref="Drain"/>
    /// once decided. While the filter keeps bytes it returns 0 and keeps the whole chunk, which follows them.
    /// </summary>
    public int Feed(Span<byte> chunk)
    {
        if (_keptEnd == 0)
        {
            var decided = Process(chunk);
            if (decided < chunk.Length) Keep(chunk[decided..]);
            return decided;
        }
        Keep(chunk);
        _keptDecided += Process(_kept.AsSpan(_keptDecided, _keptEnd - _keptDecided));
        return 0;
    }

    /// <summary>Copies ready kept bytes into <paramref name="destination"/>; returns how many.</summary>
    public int Drain(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _keptDecided - _keptStart);
        _kept.AsSpan(_keptStart, count).CopyTo(destination);
        _keptStart += count;
        if (_keptStart == _keptEnd) _keptStart = _keptDecided = _keptEnd = 0;
        return count;
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (_keptStart > 0)
        {
            _kept.AsSpan(_keptStart, _keptEnd - _keptStart).CopyTo(_kept);
            _keptDecided -= _keptStart;
            _keptEnd -= _keptStart;
            _keptStart = 0;
        }
        var needed = _keptEnd + bytes.Length;
        if (needed > _kept.Length)
        {
            var grown = new byte[Math.Max(needed, Math.Max(4096, _kept.Length * 2))];
            _kept.AsSpan(0, _keptEnd).CopyTo(grown);
            _kept = grown;
        }
        bytes.CopyTo(_kept.AsSpan(_keptEnd));
        _keptEnd = needed;
    }

    /// <summary>Walks <paramref name="data"/> from the current state; returns how many bytes are decided.</summary>
    private int Process(Span<byte> data)
    {
        var position = 0;
        while (position < data.Length)
        {
            switch (_state)
            {
                case State.Start:
                    // A server that refuses the protocol version answers with its own "AMQP" header and closes.
                    _state = data[position] == (byte)'A' ? State.Opaque : State.FrameHeader;
                    break;
                case State.Opaque:
                    return data.Length;
                case State.FrameHeader:
                    if (_headerFilled == 0 && data.Length - position >= FrameHeaderSize)
                    {
                        var header = data.Slice(position, FrameHeaderSize);
                        _headerBits = ((ulong)header[0] << 48) | ((ulong)BinaryPrimitives.ReadUInt16BigEndian(header[1..]) << 32)
                            | BinaryPrimitives.ReadUInt32BigEndian(header[3..]);
                        position += FrameHeaderSize;
                    }
                    else
                    {
                        _headerBits = (_headerBits << 8) | data[position++];
                        if (++_headerFilled < FrameHeaderSize) break;
                        _headerFilled = 0;
                    }
                    StartPayload();
                    break;
                case State.PassPayload:
                    var take = (int)Math.Min(_remaining, data.Length - position);
                    position += take;
                    _remaining -= take;
                    if (_remaining == 0) _state = State.FrameHeader;
                    break;
                case State.HoldPayload:
                    if (data.Length - position < _payloadSize) return position;
                    RewriteContentHeader(data.Slice(position, _payloadSize));
                    position += _payloadSize;
                    _state = State.PassPayload;
                    _remaining = 1; // the frame-end octet
                    break;
            }
        }
        return position;
    }

    private void StartPayload()
    {
        var type = (byte)(_headerBits >> 48);
        var size = (uint)_headerBits;
        _channel = (int)((_headerBits >> 32) & 0xFFFF);
        _headerBits = 0;
        if (type == ContentHeaderFrame && size <= MaxHeldPayload)
        {
            _state = State.HoldPayload;
            _payloadSize = (int)size;
        }
        else
        {
            _state = State.PassPayload;
            _remaining = size + 1L;
        }
    }

    /// <summary>class-id (2), weight (2), body size (8), property flags (2 each, bit 0 = another word follows), properties.</summary>
    private void RewriteContentHeader(Span<byte> payload)
    {
        const int flagsAt = 12;
        if (payload.Length < flagsAt + 2 || BinaryPrimitives.ReadUInt16BigEndian(payload) != BasicClass) return;
        var flags = BinaryPrimitives.ReadUInt16BigEndian(payload[flagsAt..]);
        var position = flagsAt + 2;
        for (var word = flags; (word & 1) != 0; position += 2)
        {
            if (payload.Length - position < 2) return;
            word = BinaryPrimitives.ReadUInt16BigEndian(payload[position..]);
        }
        const ushort contentType = 1 << 15, contentEncoding = 1 << 14, headers = 1 << 13;
        if ((flags & headers) == 0) return;
        if ((flags & contentType) != 0 && !SkipShortString(payload, ref position)) return;
        if ((flags & contentEncoding) != 0 && !SkipShortString(payload, ref position)) return;
        if (!TryLengthPrefixed(payload, position, out var table)) return;
        WalkTable(table, depth: 0, topLevel: true);
    }

    /// <summary>Walks the entries of a field table (its content, without the length): name (shortstr), then a value.</summary>
    /// <returns>How many values were rewritten.</returns>
    private int WalkTable(Span<byte> table, int depth, bool topLevel)
    {
        var position = 0;
        var rewrites = 0;
        while (position < table.Length)
        {
            var nameAt = position;
            if (!SkipShortString(table, ref position)) break;
            var inValue = 0;
            var ok = WalkValue(table, ref position, depth, ref inValue);
            rewrites += inValue;
            if (topLevel && inValue > 0 && _rewritten is { } report)
            {
                report(_channel, System.Text.Encoding.UTF8.GetString(table.Slice(nameAt + 1, table[nameAt])));
            }
            if (!ok) break;
        }
        return rewrites;
    }

    /// <summary>Walks the values of a field array (its content, without the length).</summary>
    private int WalkArray(Span<byte> array, int depth)
    {
        var position = 0;
        var rewrites = 0;
        while (position < array.Length && WalkValue(array, ref position, depth, ref rewrites))
        {
        }
        return rewrites;
    }

    /// <summary>Steps over one typed value (tag and value) at <paramref name="position"/>; false for an unknown tag or a value that does not fit.</summary>
    private bool WalkValue(Span<byte> data, ref int position, int depth, ref int rewrites)
    {
        if (position >= data.Length) return false;
        var tag = data[position];
        var value = position + 1;
        var available = data.Length - value;
        int size;
        switch (tag)
        {
            case (byte)'V':
                size = 0;
                break;
            case (byte)'t' or (byte)'b' or (byte)'B':
                size = 1;
                break;
            case (byte)'s' or (byte)'u':
                size = 2;
                break;
            case (byte)'I' or (byte)'i' or (byte)'f':
                size = 4;
                break;
            case (byte)'D':
                size = 5;
                break;
            case (byte)'l' or (byte)'d' or (byte)'T':
                size = 8;
                break;
            case (byte)'L':
                if (available < 8) return false;
                data[position] = (byte)'l';
                rewrites++;
                size = 8;
                break;
            case (byte)'S' or (byte)'x':
                if (!TryLengthPrefixed(data, value, out var bytes)) return false;
                size = 4 + bytes.Length;
                break;
            case (byte)'F':
                if (!TryLengthPrefixed(data, value, out var table)) return false;
                if (depth < MaxDepth) rewrites += WalkTable(table, depth + 1, topLevel: false);
                size = 4 + table.Length;
                break;
            case (byte)'A':
                if (!TryLengthPrefixed(data, value, out var array)) return false;
                if (depth < MaxDepth) rewrites += WalkArray(array, depth + 1);
                size = 4 + array.Length;
                break;
            default:
                return false;
        }
        if (size > available) return false;
        position = value + size;
        return true;
    }

    private static bool SkipShortString(ReadOnlySpan<byte> data, ref int position)
    {
        if (position >= data.Length || data[position] > data.Length - position - 1) return false;
        position += 1 + data[position];
        return true;
    }

    /// <summary>The bytes after a 32-bit big-endian length at <paramref name="at"/>, when they fit.</summary>
    private static bool TryLengthPrefixed(Span<byte> data, int at, out Span<byte> content)
    {
        content = default;
        if (data.Length - at < 4) return false;
        var length = BinaryPrimitives.ReadUInt32BigEndian(data[at..]);
        if (length > (uint)(data.Length - at - 4)) return false;
        content = data.Slice(at + 4, (int)length);
        return true;
    }
}
