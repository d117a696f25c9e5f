using Fennel.Redis;
using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis broker and result store.</summary>
public static class FennelRedisServiceCollectionExtensions
{
    /// <summary>
    /// Makes <c>redis://</c> and <c>rediss://</c> broker and result URLs available, on connections Fennel opens.
    /// A reference to Fennel.Redis is enough for that; call this to be explicit. Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddFennelRedis(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransportProvider, RedisTransportProvider>());
        return services;
    }

    /// <summary>
    /// Makes <c>redis://</c> and <c>rediss://</c> URLs use the application's <paramref name="multiplexer"/> (the URL's
    /// database number still applies). Fennel never disposes it.
    /// </summary>
    public static IServiceCollection AddFennelRedis(this IServiceCollection services, IConnectionMultiplexer multiplexer)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(multiplexer);
        var ours = services.Where(d => d.ServiceType == typeof(ITransportProvider)
            && (d.ImplementationType == typeof(RedisTransportProvider) || d.ImplementationInstance is RedisTransportProvider)).ToList();
        foreach (var descriptor in ours) services.Remove(descriptor);
        services.AddSingleton<ITransportProvider>(new RedisTransportProvider(multiplexer));
        return services;
    }
}
