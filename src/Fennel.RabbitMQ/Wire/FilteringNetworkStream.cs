using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Fennel.RabbitMQ;

/// <summary>
/// The stream RabbitMQ.Client reads frames from and writes frames to. RabbitMQ.Client 7 wants a
/// <see cref="NetworkStream"/>, so this is one, built on the connected socket, but every read and write goes to
/// <c>transport</c> instead (a plain <see cref="NetworkStream"/>, or the <see cref="System.Net.Security.SslStream"/>
/// over one), and every read passes through an <see cref="AmqpFrameFilter"/>. Writes are not filtered.
/// </summary>
/// <remarks>
/// RabbitMQ.Client 7.2 reads through <c>PipeReader.Create(stream)</c> (<see cref="ReadAsync(Memory{byte}, CancellationToken)"/>)
/// and writes through <c>PipeWriter.Create(stream)</c>; the synchronous and APM members are overridden too so no
/// path reaches the socket around the filter or the TLS layer.
/// </remarks>
internal sealed class FilteringNetworkStream : NetworkStream
{
    private readonly Stream _transport;
    private readonly AmqpFrameFilter _filter;

    /// <param name="socket">The connected socket (not owned: the TCP client closes it).</param>
    /// <param name="transport">Where bytes really go: a plain stream over <paramref name="socket"/> or TLS over one. Owned.</param>
    /// <param name="filter">The filter for bytes read.</param>
    public FilteringNetworkStream(Socket socket, Stream transport, AmqpFrameFilter filter)
        : base(socket, ownsSocket: false)
    {
        _transport = transport;
        _filter = filter;
    }

    public override bool CanRead => _transport.CanRead;

    public override bool CanWrite => _transport.CanWrite;

    public override bool DataAvailable => _filter.HasOutput || base.DataAvailable;

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return _filter.HasOutput ? 0 : _transport.Read(buffer);
        while (true)
        {
            if (_filter.HasOutput) return _filter.Drain(buffer);
            var read = _transport.Read(buffer);
            if (read == 0) return 0;
            var ready = _filter.Feed(buffer[..read]);
            if (ready > 0) return ready;
        }
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return _filter.HasOutput ? new ValueTask<int>(0) : _transport.ReadAsync(buffer, cancellationToken);
        if (_filter.HasOutput) return new ValueTask<int>(_filter.Drain(buffer.Span));
        return ReadFilteredAsync(buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadFilteredAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await _transport.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0) return 0;
            var ready = _filter.Feed(buffer.Span[..read]);
            if (ready > 0) return ready;
            if (_filter.HasOutput) return _filter.Drain(buffer.Span);
        }
    }

    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(ReadAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

    public override void Write(byte[] buffer, int offset, int count) => _transport.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _transport.Write(buffer);

    public override void WriteByte(byte value) => _transport.WriteByte(value);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _transport.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _transport.WriteAsync(buffer, cancellationToken);

    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    public override void Flush() => _transport.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _transport.FlushAsync(cancellationToken);

    protected override void Dispose(bool disposing)
    {
        try
        {
            if (disposing) _transport.Dispose();
        }
        finally
        {
            base.Dispose(disposing);
        }
    }
}
