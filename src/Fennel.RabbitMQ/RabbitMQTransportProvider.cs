using Fennel.Results;
using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.RabbitMQ;

/// <summary>
/// Serves <c>amqp://</c> and <c>amqps://</c> URLs: the broker, and as result store Celery's <c>rpc://</c> (results sent
/// to the caller's reply queue). The transport and result store of one server and vhost share one connection, which
/// closes when the last of them is disposed.
/// </summary>
public sealed class RabbitMQTransportProvider : ITransportProvider
{
    private readonly Dictionary<string, RabbitMQConnection> _connections = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public IReadOnlyCollection<string> Schemes { get; } = [RabbitMQOptions.Scheme, RabbitMQOptions.TlsScheme];

    /// <inheritdoc />
    public ITransport CreateTransport(string url, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = RabbitMQOptions.Parse(url);
        return new RabbitMQTransport(ConnectionFor(options, services), services.GetService<TimeProvider>(), services.GetService<ILogger<RabbitMQTransport>>());
    }

    /// <inheritdoc />
    public IResultStore CreateResultStore(string url, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = RabbitMQOptions.Parse(url);
        return new RpcResultStore(ConnectionFor(options, services), services.GetService<ILogger<RpcResultStore>>());
    }

    private RabbitMQConnection ConnectionFor(RabbitMQOptions options, IServiceProvider services)
    {
        var key = options.ToString();
        lock (_gate)
        {
            if (!_connections.TryGetValue(key, out var connection) || connection.IsDisposed)
            {
                _connections[key] = connection = new RabbitMQConnection(options, services.GetService<ILogger<RabbitMQConnection>>());
            }
            return connection;
        }
    }
}
