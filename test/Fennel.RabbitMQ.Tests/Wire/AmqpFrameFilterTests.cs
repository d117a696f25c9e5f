using System.Text;
using Fennel.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Fennel.RabbitMQ.Tests.Wire;

public sealed class AmqpFrameFilterTests
{
    private static readonly KeyValuePair<string, object?>[] PyAmqpHeaders =
    [
        new("lang", "py"),
        new("x-big", 1L << 40),
        new("x-small", 7),
        new("x-nested", new KeyValuePair<string, object?>[] { new("n", -(1L << 40)), new("deeper", new KeyValuePair<string, object?>[] { new("m", long.MinValue) }) }),
        new("x-list", new object?[] { 1L << 33, "a", null, new object?[] { long.MaxValue } }),
        new("x-plain", new object?[] { 1, true, 1.5 }),
    ];

    [Fact]
    public void Rewrites_L_to_l_at_the_top_level_and_in_nested_tables_and_arrays()
    {
        var rewritten = new List<(int Channel, string Header)>();
        var filter = new AmqpFrameFilter((channel, header) => rewritten.Add((channel, header)));
        var frame = AmqpFrames.ContentHeader(5, PyAmqpHeaders);

        var ready = filter.Feed(frame);

        Assert.Equal(frame.Length, ready);
        Assert.Equal(AmqpFrames.ContentHeader(5, PyAmqpHeaders, int64Tag: (byte)'l'), frame);
        Assert.Equal([(5, "x-big"), (5, "x-nested"), (5, "x-list")], rewritten);
        Assert.False(filter.HasOutput);
    }

    [Fact]
    public void The_rewritten_headers_read_as_signed_64_bit_integers_in_RabbitMQ_Client()
    {
        var frame = AmqpFrames.ContentHeader(1, PyAmqpHeaders);
        new AmqpFrameFilter().Feed(frame);

        var headers = ReadHeaders(frame.AsSpan(7, frame.Length - 8));

        Assert.Equal(1099511627776L, headers["x-big"]);
        var nested = Assert.IsAssignableFrom<IDictionary<string, object?>>(headers["x-nested"]);
        Assert.Equal(-1099511627776L, nested["n"]);
        Assert.Equal(long.MinValue, Assert.IsAssignableFrom<IDictionary<string, object?>>(nested["deeper"])["m"]);
        var list = Assert.IsAssignableFrom<IList<object?>>(headers["x-list"]);
        Assert.Equal(8589934592L, list[0]);
        Assert.Equal(long.MaxValue, Assert.IsAssignableFrom<IList<object?>>(list[3])[0]);
    }

    [Fact]
    public void A_stream_fed_byte_by_byte_comes_out_rewritten_and_otherwise_unchanged()
    {
        var (input, expected) = Conversation();

        var output = Run(new AmqpFrameFilter(), input, Enumerable.Repeat(1, input.Length));

        Assert.Equal(expected, output);
    }

    [Fact]
    public void A_stream_fed_in_random_chunks_comes_out_rewritten_and_otherwise_unchanged()
    {
        var (input, expected) = Conversation();
        var random = new Random(20240611);
        for (var run = 0; run < 500; run++)
        {
            var maxChunk = random.Next(1, 200);
            var sizes = new List<int>();
            for (var total = 0; total < input.Length; total += sizes[^1]) sizes.Add(random.Next(1, maxChunk + 1));
            var rewritten = 0;

            var output = Run(new AmqpFrameFilter((_, _) => rewritten++), input, sizes, random);

            Assert.Equal(expected, output);
            Assert.Equal(6, rewritten); // x-big, x-nested and x-list in each of the two messages
        }
    }

    [Fact]
    public void A_content_header_without_headers_passes_unchanged()
    {
        var frame = AmqpFrames.ContentHeader(3, headers: null);
        var original = frame.ToArray();
        var filter = new AmqpFrameFilter((_, _) => Assert.Fail("nothing to rewrite"));

        Assert.Equal(frame.Length, filter.Feed(frame));
        Assert.Equal(original, frame);
    }

    [Fact]
    public void A_frame_split_inside_its_7_byte_header_is_followed_and_its_first_bytes_pass_at_once()
    {
        var frame = AmqpFrames.ContentHeader(9, PyAmqpHeaders);
        var expected = AmqpFrames.ContentHeader(9, PyAmqpHeaders, int64Tag: (byte)'l');
        var filter = new AmqpFrameFilter();
        var first = frame[..3];
        var rest = frame[3..];

        Assert.Equal(3, filter.Feed(first));
        Assert.Equal(rest.Length, filter.Feed(rest));
        Assert.Equal(expected, first.Concat(rest));
    }

    [Fact]
    public void A_content_header_split_in_its_payload_is_held_until_complete_then_released_rewritten()
    {
        var frame = AmqpFrames.ContentHeader(2, PyAmqpHeaders);
        var body = AmqpFrames.Body(2, "{}"u8);
        var filter = new AmqpFrameFilter();
        var first = frame[..20];
        var second = frame[20..].Concat(body).ToArray();

        Assert.Equal(7, filter.Feed(first)); // the frame header passes; the payload waits
        Assert.False(filter.HasOutput);
        Assert.Equal(0, filter.Feed(second));
        Assert.True(filter.HasOutput);
        var drained = new byte[second.Length + 13];
        Assert.Equal(frame.Length - 7 + body.Length, filter.Drain(drained));
        Assert.False(filter.HasOutput);
        Assert.Equal(AmqpFrames.ContentHeader(2, PyAmqpHeaders, int64Tag: (byte)'l').Concat(body), first[..7].Concat(drained[..(frame.Length - 7 + body.Length)]));
    }

    [Fact]
    public void Body_and_method_frames_pass_untouched_and_without_waiting_for_the_rest_of_the_frame()
    {
        var body = Enumerable.Range(0, 3000).Select(i => i % 3 == 0 ? (byte)'L' : (byte)i).ToArray();
        var input = AmqpFrames.Method(1).Concat(AmqpFrames.Body(1, body)).ToArray();
        var original = input.ToArray();
        var filter = new AmqpFrameFilter((_, _) => Assert.Fail("nothing to rewrite"));

        Assert.Equal(1000, filter.Feed(input.AsSpan(0, 1000)));
        Assert.Equal(input.Length - 1000, filter.Feed(input.AsSpan(1000)));
        Assert.Equal(original, input);
    }

    [Fact]
    public void An_unknown_tag_stops_the_walk_of_its_table_and_leaves_the_bytes_alone()
    {
        var frame = AmqpFrames.ContentHeader(1, [new("x-big", 1L << 40), new("odd", 1L), new("later", 1L << 41)]);
        var oddTag = IndexOf(frame, "odd") + 3;
        Assert.Equal((byte)'L', frame[oddTag]);
        frame[oddTag] = (byte)'Z';
        var rewritten = new List<string>();

        new AmqpFrameFilter((_, header) => rewritten.Add(header)).Feed(frame);

        Assert.Equal(["x-big"], rewritten);
        Assert.Equal((byte)'Z', frame[oddTag]);
        Assert.Equal((byte)'L', frame[IndexOf(frame, "later") + 5]);
    }

    [Fact]
    public void A_server_refusing_the_protocol_version_has_its_AMQP_header_passed_through()
    {
        var reply = "AMQP\0\0\u0009\u0001"u8.ToArray().Concat(AmqpFrames.ContentHeader(1, PyAmqpHeaders)).ToArray();
        var original = reply.ToArray();

        Assert.Equal(reply.Length, new AmqpFrameFilter().Feed(reply));
        Assert.Equal(original, reply);
    }

    [Fact]
    public void The_header_py_amqp_writes_for_every_python_value_type_reads_in_RabbitMQ_Client_once_filtered()
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "amqp", "header_value_types.json"));
        var payload = Convert.FromBase64String((string)vector["raw_content_header_frame_payload_b64"]!);
        var frame = AmqpFrames.Frame(2, 1, payload);
        Assert.Throws<SyntaxErrorException>(() => ReadHeaders(frame.AsSpan(7, payload.Length)));
        var rewritten = new List<string>();

        var output = Run(new AmqpFrameFilter((_, header) => rewritten.Add(header)), frame, Enumerable.Repeat(5, frame.Length / 5 + 1));

        Assert.Equal(["int_2pow31", "int_2pow40"], rewritten);
        Assert.Equal(frame.Length, output.Length);
        Assert.Equal(2, frame.Zip(output).Count(pair => pair.First != pair.Second));
        var headers = ReadHeaders(output.AsSpan(7, payload.Length));
        Assert.Equal(2147483648L, headers["int_2pow31"]);
        Assert.Equal(1099511627776L, headers["int_2pow40"]);
        Assert.Equal(2147483647, headers["int_2pow31_minus1"]);
        Assert.Equal("Zoë", Encoding.UTF8.GetString((byte[])headers["unicode"]!));
        Assert.Equal(1.5, headers["float"]);
        Assert.Null(headers["none"]);
    }

    [Fact]
    public void Following_frames_allocates_nothing_once_warm()
    {
        var (input, _) = Conversation();
        var stream = Enumerable.Repeat(input, 50).SelectMany(bytes => bytes).ToArray();
        var random = new Random(7);
        var cuts = new List<int>();
        for (var at = 0; at < stream.Length; at += cuts[^1]) cuts.Add(random.Next(1, 4096));
        var filter = new AmqpFrameFilter();
        var chunk = new byte[4096];
        var drained = new byte[4096];
        long FeedAll()
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var offset = 0;
            foreach (var cut in cuts)
            {
                var length = Math.Min(cut, stream.Length - offset);
                stream.AsSpan(offset, length).CopyTo(chunk);
                offset += length;
                filter.Feed(chunk.AsSpan(0, length));
                while (filter.HasOutput) filter.Drain(drained);
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        FeedAll(); // grows the buffer for held content headers once

        Assert.Equal(0, FeedAll());
    }

    /// <summary>Two deliveries with 'L' headers among heartbeats, and what the filter must make of them.</summary>
    private static (byte[] Input, byte[] Expected) Conversation()
    {
        byte[] Build(byte tag) =>
        [
            .. AmqpFrames.Heartbeat(),
            .. AmqpFrames.Method(1),
            .. AmqpFrames.ContentHeader(1, PyAmqpHeaders, tag),
            .. AmqpFrames.Body(1, Encoding.UTF8.GetBytes(new string('L', 700))),
            .. AmqpFrames.Method(2),
            .. AmqpFrames.ContentHeader(2, headers: null),
            .. AmqpFrames.Body(2, []),
            .. AmqpFrames.Method(7),
            .. AmqpFrames.ContentHeader(7, PyAmqpHeaders, tag),
            .. AmqpFrames.Body(7, "[[2, 3], {}, {}]"u8),
            .. AmqpFrames.Heartbeat(),
        ];
        return (Build((byte)'L'), Build((byte)'l'));
    }

    /// <summary>Feeds <paramref name="input"/> in chunks as a stream would, draining kept bytes into reads of random sizes.</summary>
    private static byte[] Run(AmqpFrameFilter filter, byte[] input, IEnumerable<int> chunkSizes, Random? random = null)
    {
        var output = new List<byte>();
        var offset = 0;
        foreach (var size in chunkSizes)
        {
            if (offset >= input.Length) break;
            var chunk = input.AsSpan(offset, Math.Min(size, input.Length - offset)).ToArray();
            offset += chunk.Length;
            var ready = filter.Feed(chunk);
            output.AddRange(chunk[..ready]);
            while (filter.HasOutput)
            {
                var read = new byte[random?.Next(1, 300) ?? 64];
                output.AddRange(read[..filter.Drain(read)]);
            }
        }
        Assert.Equal(input.Length, offset);
        return output.ToArray();
    }

    private static IDictionary<string, object?> ReadHeaders(ReadOnlySpan<byte> contentHeaderPayload) =>
        new ReadOnlyBasicProperties(contentHeaderPayload[12..]).Headers!;

    private static int IndexOf(byte[] bytes, string text) => bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text));
}
