using Fennel.Results;
using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// Serves <c>redis://</c> and <c>rediss://</c> URLs. The transport and the result store of one server share one
/// multiplexer, which closes when the last of them is disposed. Given the application's own multiplexer, every URL uses
/// it (the URL's database number still applies) and Fennel never disposes it.
/// </summary>
public sealed class RedisTransportProvider : ITransportProvider
{
    private readonly IConnectionMultiplexer? _multiplexer;
    private readonly Dictionary<string, RedisConnection> _connections = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>A provider that opens its own connections.</summary>
    public RedisTransportProvider()
    {
    }

    /// <summary>A provider that uses the application's multiplexer for every URL and never disposes it.</summary>
    public RedisTransportProvider(IConnectionMultiplexer multiplexer)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        _multiplexer = multiplexer;
    }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Schemes { get; } = [RedisOptions.Scheme, RedisOptions.TlsScheme];

    /// <inheritdoc />
    public ITransport CreateTransport(string url, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = RedisOptions.Parse(url);
        return new RedisTransport(ConnectionFor(options), options, services.GetService<TimeProvider>(), services.GetService<ILogger<RedisTransport>>());
    }

    /// <inheritdoc />
    public IResultStore CreateResultStore(string url, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = RedisOptions.Parse(url);
        return new RedisResultStore(ConnectionFor(options), options, services.GetService<TimeProvider>(), services.GetService<ILogger<RedisResultStore>>());
    }

    private RedisConnection ConnectionFor(RedisOptions options)
    {
        if (_multiplexer is not null) return new RedisConnection(_multiplexer);
        var key = $"{(options.UseTls ? "rediss" : "redis")}://{options.User}:{options.Password}@{options.Endpoint}";
        lock (_gate)
        {
            if (!_connections.TryGetValue(key, out var connection) || connection.IsDisposed)
            {
                _connections[key] = connection = new RedisConnection(options);
            }
            return connection;
        }
    }
}
