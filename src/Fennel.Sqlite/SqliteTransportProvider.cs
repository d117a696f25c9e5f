using Fennel.Results;
using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.Sqlite;

/// <summary>
/// Serves <c>sqlite://</c> URLs. Within one provider, URLs naming the same file (however spelled) share one transport and
/// one result store, so an app that opens the broker URL twice does not hold two connection pools on one file.
/// Disposing the provider (the DI container does) disposes them; one disposed by its user is replaced on the next request.
/// </summary>
public sealed class SqliteTransportProvider : ITransportProvider, IAsyncDisposable
{
    private readonly Dictionary<string, SqliteTransport> _transports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SqliteResultStore> _resultStores = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public IReadOnlyCollection<string> Schemes { get; } = [SqliteOptions.Scheme];

    /// <inheritdoc />
    public ITransport CreateTransport(string url, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = SqliteOptions.Parse(url);
        lock (_gate)
        {
            if (!_transports.TryGetValue(options.Path, out var transport) || transport.IsDisposed)
            {
                _transports[options.Path] = transport = new SqliteTransport(options, services.GetService<TimeProvider>(),
                    services.GetService<ILogger<SqliteTransport>>());
            }
            return transport;
        }
    }

    /// <inheritdoc />
    public IResultStore? CreateResultStore(string url, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = SqliteOptions.Parse(url);
        lock (_gate)
        {
            if (!_resultStores.TryGetValue(options.Path, out var store) || store.IsDisposed)
            {
                _resultStores[options.Path] = store = new SqliteResultStore(options, services.GetService<TimeProvider>(),
                    services.GetService<ILogger<SqliteResultStore>>());
            }
            return store;
        }
    }

    /// <summary>Disposes every transport and result store this provider created.</summary>
    public async ValueTask DisposeAsync()
    {
        List<IAsyncDisposable> owned;
        lock (_gate)
        {
            owned = [.. _transports.Values, .. _resultStores.Values];
            _transports.Clear();
            _resultStores.Clear();
        }
        foreach (var instance in owned) await instance.DisposeAsync().ConfigureAwait(false);
    }
}
