using Fennel.Results;
using Fennel.Testing;
using Fennel.Transport.Memory;

namespace Fennel.Tests.Transport.Memory;

/// <summary>The in-memory result store passes the shared result-store suite.</summary>
public sealed class InMemoryResultStoreConformanceTests : ResultStoreConformanceTests
{
    protected override Task<IResultStore> CreateResultStoreAsync() => Task.FromResult<IResultStore>(new InMemoryResultStore());
}
