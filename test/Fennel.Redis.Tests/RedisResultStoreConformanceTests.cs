using Fennel.Results;
using Fennel.Testing;

namespace Fennel.Redis.Tests;

/// <summary>The Redis result store passes the shared result store suite.</summary>
public sealed class RedisResultStoreConformanceTests : ResultStoreConformanceTests
{
    protected override Task<IResultStore> CreateResultStoreAsync() => Task.FromResult<IResultStore>(RedisTestDatabase.NewResultStore());
}
