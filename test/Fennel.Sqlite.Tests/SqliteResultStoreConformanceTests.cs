using Fennel.Results;
using Fennel.Testing;

namespace Fennel.Sqlite.Tests;

/// <summary>The SQLite result store passes the shared result-store suite, every test on a new store over one file.</summary>
public sealed class SqliteResultStoreConformanceTests(TemporaryFolder folder) : ResultStoreConformanceTests, IClassFixture<TemporaryFolder>
{
    protected override Task<IResultStore> CreateResultStoreAsync() =>
        Task.FromResult<IResultStore>(new SqliteResultStore(new SqliteOptions { Path = folder.File("shared.db") }));
}
