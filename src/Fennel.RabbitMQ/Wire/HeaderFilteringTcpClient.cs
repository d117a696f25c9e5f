using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ;

/// <summary>
/// The socket under every Fennel AMQP connection (<see cref="ConnectionFactoryBase.SocketFactory"/>). Its stream reads
/// through an <see cref="AmqpFrameFilter"/>, which turns py-amqp's <c>'L'</c> header integers into the <c>'l'</c>
/// RabbitMQ.Client understands: without it one such message closes the connection ("502 Unrecognised type in table:
/// L"), and after recovery the redelivered message closes it again, forever. For <c>amqps://</c> the TLS session is
/// made here, below the filter, when the socket connects (the client's own TLS is off: it would sit above it).
/// </summary>
internal sealed class HeaderFilteringTcpClient : ITcpClient
{
    private readonly ITcpClient _inner;
    private readonly RabbitMQOptions _options;
    private readonly ILogger _logger;
    private readonly RemoteCertificateValidationCallback? _certificateValidation;
    private FilteringNetworkStream? _stream;

    /// <param name="family">The address family the client is connecting with.</param>
    /// <param name="options">The server: <see cref="RabbitMQOptions.UseTls"/> and the TLS target host.</param>
    /// <param name="logger">Where rewritten headers are reported.</param>
    /// <param name="certificateValidation">Replaces the system's certificate validation; for tests only.</param>
    public HeaderFilteringTcpClient(AddressFamily family, RabbitMQOptions options, ILogger logger,
        RemoteCertificateValidationCallback? certificateValidation = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _certificateValidation = certificateValidation;
        _inner = ConnectionFactoryBase.DefaultSocketFactory(family);
    }

    public bool Connected => _inner.Connected;

    public TimeSpan ReceiveTimeout { get => _inner.ReceiveTimeout; set => _inner.ReceiveTimeout = value; }

    public Socket Client => _inner.Client;

    /// <summary>Connects, then, for TLS, authenticates the server as <see cref="RabbitMQOptions.Host"/>.</summary>
    public async Task ConnectAsync(IPAddress host, int port, CancellationToken cancellationToken = default)
    {
        await _inner.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        var plain = new NetworkStream(_inner.Client, ownsSocket: false);
        Stream transport = plain;
        if (_options.UseTls)
        {
            var tls = new SslStream(plain, leaveInnerStreamOpen: false);
            try
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = _options.Host,
                    RemoteCertificateValidationCallback = _certificateValidation,
                }, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await tls.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            transport = tls;
        }
        _stream = new FilteringNetworkStream(_inner.Client, transport, new AmqpFrameFilter(Report));
    }

    /// <exception cref="InvalidOperationException">Not connected yet.</exception>
    public NetworkStream GetStream() => _stream ?? throw new InvalidOperationException("The socket is not connected.");

    public void Close()
    {
        _stream?.Dispose();
        _inner.Close();
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _inner.Dispose();
    }

    /// <summary>
    /// Logs each rewritten header: the first time a header name is seen (per process) as a warning, after that at debug
    /// level, so a producer that always sends one does not flood the log.
    /// </summary>
    private void Report(int channel, string header)
    {
        if (ReportedHeaders.Count < 1000 && ReportedHeaders.TryAdd(header, true)) Log.Int64HeaderRewritten(_logger, channel, header);
        else Log.Int64HeaderRewrittenAgain(_logger, channel, header);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> ReportedHeaders = new(StringComparer.Ordinal);
}
