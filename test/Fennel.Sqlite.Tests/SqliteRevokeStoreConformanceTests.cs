using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Sqlite.Tests;

/// <summary>The SQLite broker keeps revokes as the shared suite expects, every store a new transport over one file.</summary>
public sealed class SqliteRevokeStoreConformanceTests(TemporaryFolder folder) : RevokeStoreConformanceTests, IClassFixture<TemporaryFolder>
{
    protected override Task<ITransport> CreateStoreAsync() =>
        Task.FromResult<ITransport>(new SqliteTransport(new SqliteOptions { Path = folder.File("shared.db") }));
}
