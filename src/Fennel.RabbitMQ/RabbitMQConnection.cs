using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Fennel.RabbitMQ;

/// <summary>
/// One AMQP connection to a server, shared by the transport and the rpc result store of the same URL (counted: the last
/// user closes it). It connects on first use, and again on the next use when that failed; once connected,
/// RabbitMQ.Client recovers it after a broker restart or network cut and reopens its channels. Fennel re-declares its
/// own queues and consumers on <see cref="Recovered"/> (the client's topology recovery is off: Fennel's delay and lease
/// queues come and go, and the client would remember every one of them).
/// </summary>
internal sealed class RabbitMQConnection : IAsyncDisposable
{
    /// <summary>Publishes waiting for a confirm at once, per connection: the confirm window.</summary>
    internal const int ConfirmWindow = 512;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _logger;
    private IConnection? _connection;
    private ConfirmingPublisher? _publisher;
    private int _users;
    private int _disposed;

    public RabbitMQConnection(RabbitMQOptions options, ILogger? logger = null)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? NullLogger.Instance;
    }

    public RabbitMQOptions Options { get; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Raised after the client recovered the connection and its channels; consumers must be re-created.</summary>
    public event Func<Task>? Recovered;

    /// <summary>Raised when the connection is lost (before recovery): deliveries held so far will not be settled.</summary>
    public event Action? Lost;

    /// <summary>Counts one more user; dispose once per call.</summary>
    public RabbitMQConnection AddUser()
    {
        Interlocked.Increment(ref _users);
        return this;
    }

    /// <summary>The open connection, connecting first when needed.</summary>
    /// <exception cref="BrokerException">The server cannot be reached or refused the login.</exception>
    public async Task<IConnection> ConnectionAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Volatile.Read(ref _connection) is { } open) return open;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is not null) return _connection;
            var factory = new ConnectionFactory
            {
                HostName = Options.Host,
                Port = Options.Port,
                VirtualHost = Options.VirtualHost,
                UserName = Options.User,
                Password = Options.Password,
                RequestedHeartbeat = Options.Heartbeat,
                AutomaticRecoveryEnabled = true,
                TopologyRecoveryEnabled = false,
                NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
                RequestedConnectionTimeout = TimeSpan.FromSeconds(10),
                ContinuationTimeout = TimeSpan.FromSeconds(30),
                ClientProvidedName = "fennel",
                SocketFactory = family => new HeaderFilteringTcpClient(family, Options, _logger),
            };
            if (Options.UseTls)
            {
                // TLS is done inside HeaderFilteringTcpClient, below the header filter, so the filter sees plain AMQP frames.
                factory.Ssl = new SslOption { Enabled = false };
            }
            IConnection connection;
            try
            {
                connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
            {
                throw RabbitMQErrors.Wrap(e, Options, "connect");
            }
            connection.ConnectionShutdownAsync += OnShutdownAsync;
            connection.RecoverySucceededAsync += OnRecoveredAsync;
            connection.ConnectionRecoveryErrorAsync += (_, e) =>
            {
                Log.RecoveryAttemptFailed(_logger, Options.Display, e.Exception);
                return Task.CompletedTask;
            };
            connection.ConnectionBlockedAsync += (_, e) =>
            {
                Log.ConnectionBlocked(_logger, Options.Display, e.Reason);
                return Task.CompletedTask;
            };
            Volatile.Write(ref _connection, connection);
            return connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The shared publishing channel, with publisher confirms (see <see cref="ConfirmingPublisher"/>). A channel the broker
    /// closed (a refused publish) is replaced; one closed by a lost connection comes back with the connection.
    /// </summary>
    public async Task<ConfirmingPublisher> PublisherAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _publisher) is { IsOpen: true } open) return open;
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_publisher is { IsOpen: true } current) return current;
            if (_publisher is not null && !connection.IsOpen) throw new BrokerException($"RabbitMQ at {Options.Display} is not connected; reconnecting.");
            var options = new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: false);
            var channel = await RabbitMQErrors.Guard(connection.CreateChannelAsync(options, cancellationToken), Options, "open a channel").ConfigureAwait(false);
            _publisher = new ConfirmingPublisher(channel, Options);
            return _publisher;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A new channel for consuming or for short administrative work; the caller closes it.</summary>
    public async Task<IChannel> CreateChannelAsync(CancellationToken cancellationToken = default)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await RabbitMQErrors.Guard(connection.CreateChannelAsync(null, cancellationToken), Options, "open a channel").ConfigureAwait(false);
    }

    private Task OnShutdownAsync(object sender, ShutdownEventArgs e)
    {
        if (IsDisposed || e.Initiator == ShutdownInitiator.Application) return Task.CompletedTask;
        Log.ConnectionLost(_logger, Options.Display, e.ReplyCode, e.ReplyText);
        Lost?.Invoke();
        return Task.CompletedTask;
    }

    private async Task OnRecoveredAsync(object sender, AsyncEventArgs e)
    {
        Log.ConnectionRecovered(_logger, Options.Display);
        if (Recovered is not { } handlers) return;
        foreach (var handler in handlers.GetInvocationList().Cast<Func<Task>>())
        {
            try
            {
                await handler().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.RecoveryHandlerFailed(_logger, Options.Display, ex);
            }
        }
    }

    /// <summary>Closes the connection when the last user disposes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Decrement(ref _users) > 0) return;
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_connection is { } connection)
        {
            try
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
            {
                // Already gone.
            }
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        _gate.Dispose();
    }
}
