using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

/// <summary>
/// The socket under every Fennel AMQP connection. PLACEHOLDER: passes bytes through unchanged; the header filter
/// (py-amqp's 'L' integers) and TLS below it come next.
/// </summary>
internal sealed class HeaderFilteringTcpClient : ITcpClient
{
    private readonly ITcpClient _inner;

    public HeaderFilteringTcpClient(AddressFamily family, RabbitMQOptions options, ILogger logger)
    {
        _ = options;
        _ = logger;
        _inner = ConnectionFactoryBase.DefaultSocketFactory(family);
    }

    public bool Connected => _inner.Connected;

    public TimeSpan ReceiveTimeout { get => _inner.ReceiveTimeout; set => _inner.ReceiveTimeout = value; }

    public Socket Client => _inner.Client;

    public Task ConnectAsync(IPAddress host, int port, CancellationToken cancellationToken = default) => _inner.ConnectAsync(host, port, cancellationToken);

    public NetworkStream GetStream() => _inner.GetStream();

    public void Close() => _inner.Close();

    public void Dispose() => _inner.Dispose();
}
