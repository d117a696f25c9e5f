using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Redis.Tests;

/// <summary>The Redis broker passes the shared broadcast suite: pub/sub for topic and fanout, kombu's lists for direct.</summary>
public sealed class RedisBroadcastConformanceTests : BroadcastConformanceTests
{
    protected override Task<ITransport> CreateTransportAsync() => Task.FromResult<ITransport>(RedisTestDatabase.NewTransport());
}
