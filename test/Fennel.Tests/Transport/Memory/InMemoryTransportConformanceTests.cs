using Fennel.Testing;
using Fennel.Transport;
using Fennel.Transport.Memory;

namespace Fennel.Tests.Transport.Memory;

/// <summary>The in-memory broker passes the shared transport suite.</summary>
public sealed class InMemoryTransportConformanceTests : TransportConformanceTests
{
    protected override Task<ITransport> CreateTransportAsync() => Task.FromResult<ITransport>(new InMemoryTransport());
}
