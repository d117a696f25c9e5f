using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.RabbitMQ.Tests;

/// <summary>The RabbitMQ broker keeps revokes (the stream queue <c>fennel.revokes</c>) as the shared suite expects.</summary>
public sealed class RabbitMQRevokeStoreConformanceTests : RevokeStoreConformanceTests
{
    protected override Task<ITransport> CreateStoreAsync() => Task.FromResult<ITransport>(TestBroker.NewTransport());

}
