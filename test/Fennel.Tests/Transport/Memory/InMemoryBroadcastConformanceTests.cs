using Fennel.Testing;
using Fennel.Transport;
using Fennel.Transport.Memory;

namespace Fennel.Tests.Transport.Memory;

/// <summary>The in-memory broker passes the shared broadcast suite.</summary>
public sealed class InMemoryBroadcastConformanceTests : BroadcastConformanceTests
{
    protected override Task<ITransport> CreateTransportAsync() => Task.FromResult<ITransport>(new InMemoryTransport());
}
