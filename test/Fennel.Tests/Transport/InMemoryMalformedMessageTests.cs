using Fennel.Testing;
using Fennel.Transport;
using Fennel.Transport.Memory;

namespace Fennel.Tests.Transport;

/// <summary>The shared malformed-message suite on the in-memory broker.</summary>
public sealed class InMemoryMalformedMessageTests : MalformedMessageConformanceTests
{
    protected override string BrokerUrl { get; } = "memory://" + Guid.NewGuid().ToString("N");

    protected override Task PutStoredAsync(ITransport transport, string queue, byte[] stored) =>
        ((InMemoryTransport)transport).PublishStoredAsync(queue, stored);
}
