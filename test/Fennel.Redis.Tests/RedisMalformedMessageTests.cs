using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Redis.Tests;

/// <summary>The shared malformed-message suite on this project's Redis database; the bad envelopes are pushed as they are.</summary>
public sealed class RedisMalformedMessageTests : MalformedMessageConformanceTests
{
    protected override string BrokerUrl => RedisTestDatabase.Url();

    protected override Task PutStoredAsync(ITransport transport, string queue, byte[] stored) =>
        ((RedisTransport)transport).PublishStoredAsync(queue, stored);
}
