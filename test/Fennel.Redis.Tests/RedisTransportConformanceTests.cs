using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Redis.Tests;

/// <summary>The Redis broker passes the shared transport suite; bodies are kombu envelopes, as the transport stores them.</summary>
public sealed class RedisTransportConformanceTests : TransportConformanceTests
{
    protected override Task<ITransport> CreateTransportAsync() => Task.FromResult<ITransport>(RedisTestDatabase.NewTransport());
    // kombu serves priority step 0 first.
    protected override bool LowerPriorityFirst => true;
}
