using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.RabbitMQ.Tests;

/// <summary>The shared transport suite on a real RabbitMQ, with priority queues (x-max-priority) so priorities order delivery.</summary>
public sealed class RabbitMQTransportConformanceTests : TransportConformanceTests
{
    protected override Task<ITransport> CreateTransportAsync() => Task.FromResult<ITransport>(TestBroker.NewTransport("?max_priority=10"));

}
