using Fennel.Sqlite;
using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite broker and result store.</summary>
public static class FennelSqliteServiceCollectionExtensions
{
    /// <summary>
    /// Makes <c>sqlite://</c> broker and result URLs available (<see cref="SqliteTransportProvider"/>). Safe to call more
    /// than once.
    /// </summary>
    public static IServiceCollection AddFennelSqlite(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransportProvider, SqliteTransportProvider>());
        return services;
    }
}
