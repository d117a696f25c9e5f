using System.Buffers.Binary;
using System.Text;

namespace Fennel.RabbitMQ.Tests.Wire;

/// <summary>
/// Writes AMQP 0-9-1 frames the way a server sends them, with field tables encoded as py-amqp encodes Python values:
/// <see cref="long"/> as <c>'L'</c> (or <c>'l'</c>, what the filter must turn it into), <see cref="int"/> as <c>'I'</c>,
/// strings as <c>'S'</c>, dictionaries as <c>'F'</c>, lists as <c>'A'</c>, null as <c>'V'</c>.
/// </summary>
internal static class AmqpFrames
{
    public static byte[] Frame(byte type, ushort channel, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[7 + payload.Length + 1];
        frame[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(1), channel);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(3), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(7));
        frame[^1] = 0xCE;
        return frame;
    }

    /// <summary>A basic.deliver-like method frame (its arguments are opaque to the filter).</summary>
    public static byte[] Method(ushort channel) => Frame(1, channel, [0, 60, 0, 60, 3, (byte)'a', (byte)'L', (byte)'c', 0, 0, 0, 0, 0, 0, 0, 1, 0]);

    public static byte[] Body(ushort channel, ReadOnlySpan<byte> body) => Frame(3, channel, body);

    public static byte[] Heartbeat() => Frame(8, 0, []);

    /// <summary>A basic content header with content type, content encoding and, when given, headers.</summary>
    public static byte[] ContentHeader(ushort channel, IReadOnlyList<KeyValuePair<string, object?>>? headers, byte int64Tag = (byte)'L')
    {
        var payload = new List<byte> { 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
        var flags = (ushort)(0xD000 | (headers is null ? 0 : 0x2000));
        payload.Add((byte)(flags >> 8));
        payload.Add((byte)flags);
        ShortString(payload, "application/json");
        ShortString(payload, "utf-8");
        if (headers is not null) Table(payload, headers, int64Tag);
        payload.Add(2); // delivery mode
        return Frame(2, channel, payload.ToArray());
    }

    private static void ShortString(List<byte> into, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        into.Add((byte)bytes.Length);
        into.AddRange(bytes);
    }

    private static void Table(List<byte> into, IReadOnlyList<KeyValuePair<string, object?>> entries, byte int64Tag)
    {
        var content = new List<byte>();
        foreach (var (name, value) in entries)
        {
            ShortString(content, name);
            Value(content, value, int64Tag);
        }
        LengthPrefixed(into, content);
    }

    private static void Value(List<byte> into, object? value, byte int64Tag)
    {
        switch (value)
        {
            case null:
                into.Add((byte)'V');
                break;
            case bool flag:
                into.Add((byte)'t');
                into.Add(flag ? (byte)1 : (byte)0);
                break;
            case int number:
                into.Add((byte)'I');
                Big(into, BitConverter.GetBytes(number));
                break;
            case long number:
                into.Add(int64Tag);
                Big(into, BitConverter.GetBytes(number));
                break;
            case double number:
                into.Add((byte)'d');
                Big(into, BitConverter.GetBytes(number));
                break;
            case string text:
                into.Add((byte)'S');
                LengthPrefixed(into, Encoding.UTF8.GetBytes(text));
                break;
            case IReadOnlyList<KeyValuePair<string, object?>> table:
                into.Add((byte)'F');
                Table(into, table, int64Tag);
                break;
            case IEnumerable<object?> list:
                into.Add((byte)'A');
                var content = new List<byte>();
                foreach (var item in list) Value(content, item, int64Tag);
                LengthPrefixed(into, content);
                break;
            default:
                throw new ArgumentException($"No field-table encoding for {value.GetType()}.", nameof(value));
        }
    }

    private static void Big(List<byte> into, byte[] littleEndian)
    {
        Array.Reverse(littleEndian);
        into.AddRange(littleEndian);
    }

    private static void LengthPrefixed(List<byte> into, IReadOnlyCollection<byte> content)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)content.Count);
        into.AddRange(length);
        into.AddRange(content);
    }
}
