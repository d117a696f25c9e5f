using Fennel.RabbitMQ;
using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the RabbitMQ broker and the rpc result store.</summary>
public static class FennelRabbitMQServiceCollectionExtensions
{
    /// <summary>
    /// Makes <c>amqp://</c> and <c>amqps://</c> broker URLs (and the <c>rpc://</c> result backend) available. A reference
    /// to Fennel.RabbitMQ is enough for that; call this to be explicit. Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddFennelRabbitMQ(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITransportProvider, RabbitMQTransportProvider>());
        return services;
    }
}
