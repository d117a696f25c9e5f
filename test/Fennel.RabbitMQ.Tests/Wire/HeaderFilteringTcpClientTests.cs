using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.RabbitMQ.Tests.Wire;

/// <summary>The TCP client against an in-process server on loopback that plays the broker's side of the socket.</summary>
public sealed class HeaderFilteringTcpClientTests
{
    private static readonly KeyValuePair<string, object?>[] Headers =
        [new("x-big", 1L << 40), new("x-nested", new KeyValuePair<string, object?>[] { new("n", -(1L << 40)) })];

    private static readonly byte[] ProtocolHeader = "AMQP\0\0\u0009\u0001"u8.ToArray();

    [Fact]
    public async Task Every_read_member_of_the_stream_filters_and_writes_reach_the_server()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var (sent, expected) = Delivery();
        await using var server = FakeBroker.Start(certificate: null, sent);
        using var client = new HeaderFilteringTcpClient(AddressFamily.InterNetwork, Options(server.Port, tls: false), NullLogger.Instance);

        await client.ConnectAsync(IPAddress.Loopback, server.Port, deadline.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(ProtocolHeader, deadline.Token);
        await stream.FlushAsync(deadline.Token);
        var received = new List<byte> { (byte)stream.ReadByte() };
        var buffer = new byte[11];
        received.AddRange(buffer[..stream.Read(buffer, 0, buffer.Length)]);
        received.AddRange(buffer[..stream.EndRead(stream.BeginRead(buffer, 0, buffer.Length, null, null))]);
        received.AddRange(buffer[..await stream.ReadAsync(buffer, 0, buffer.Length, deadline.Token)]);
        received.AddRange(buffer[..stream.Read(buffer.AsSpan())]);
        while (received.Count < expected.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(), deadline.Token);
            Assert.NotEqual(0, read);
            received.AddRange(buffer[..read]);
        }

        Assert.Equal(expected, received);
        Assert.Equal(ProtocolHeader, await server.ReceivedAsync);
    }

    [Fact]
    public async Task With_tls_the_client_authenticates_the_server_and_filters_the_decrypted_frames()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var certificate = SelfSigned();
        var (sent, expected) = Delivery();
        await using var server = FakeBroker.Start(certificate, sent);
        string? presented = null;
        string? targetHost = null;
        using var client = new HeaderFilteringTcpClient(AddressFamily.InterNetwork, Options(server.Port, tls: true), NullLogger.Instance,
            (sender, cert, _, errors) =>
            {
                presented = cert?.GetCertHashString();
                targetHost = ((SslStream)sender).TargetHostName;
                return errors == SslPolicyErrors.RemoteCertificateChainErrors;
            });

        await client.ConnectAsync(IPAddress.Loopback, server.Port, deadline.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(ProtocolHeader, deadline.Token);
        var received = new byte[expected.Length];
        await stream.ReadExactlyAsync(received, deadline.Token);

        Assert.Equal(certificate.Thumbprint, presented);
        Assert.Equal("localhost", targetHost);
        Assert.Equal(expected, received);
        Assert.Equal(ProtocolHeader, await server.ReceivedAsync);
    }

    [Fact]
    public async Task With_tls_a_server_certificate_the_system_does_not_trust_fails_the_connection()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var certificate = SelfSigned();
        await using var server = FakeBroker.Start(certificate, []);
        using var client = new HeaderFilteringTcpClient(AddressFamily.InterNetwork, Options(server.Port, tls: true), NullLogger.Instance);

        await Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(
            () => client.ConnectAsync(IPAddress.Loopback, server.Port, deadline.Token));
    }

    private static RabbitMQOptions Options(int port, bool tls) => new() { Host = "localhost", Port = port, UseTls = tls };

    /// <summary>A delivery the way the broker sends it, and what the client must read.</summary>
    private static (byte[] Sent, byte[] Expected) Delivery()
    {
        byte[] Build(byte tag) =>
            [.. AmqpFrames.Method(1), .. AmqpFrames.ContentHeader(1, Headers, tag), .. AmqpFrames.Body(1, "[[1, 2], {}, {}]"u8)];
        return (Build((byte)'L'), Build((byte)'l'));
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>
    /// Accepts one connection (TLS when given a certificate), sends <c>frames</c> in small writes, and records the
    /// 8 bytes the client sends first (<see cref="ReceivedAsync"/>).
    /// </summary>
    private sealed class FakeBroker : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task _serving;
        private readonly TaskCompletionSource<byte[]> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private FakeBroker(TcpListener listener, X509Certificate2? certificate, byte[] frames)
        {
            _listener = listener;
            _serving = ServeAsync(certificate, frames);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public Task<byte[]> ReceivedAsync => _received.Task.WaitAsync(TimeSpan.FromSeconds(10));

        public static FakeBroker Start(X509Certificate2? certificate, byte[] frames)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new FakeBroker(listener, certificate, frames);
        }

        private async Task ServeAsync(X509Certificate2? certificate, byte[] frames)
        {
            using var socket = await _listener.AcceptTcpClientAsync();
            socket.NoDelay = true;
            Stream stream = socket.GetStream();
            try
            {
                if (certificate is not null)
                {
                    var tls = new SslStream(stream);
                    stream = tls;
                    await tls.AuthenticateAsServerAsync(certificate);
                }
                for (var offset = 0; offset < frames.Length; offset += 9)
                {
                    await stream.WriteAsync(frames.AsMemory(offset, Math.Min(9, frames.Length - offset)));
                    await stream.FlushAsync();
                }
                var header = new byte[8];
                await stream.ReadExactlyAsync(header);
                _received.TrySetResult(header);
            }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
            {
                _received.TrySetException(e);
            }
            finally
            {
                await stream.DisposeAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _serving.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
