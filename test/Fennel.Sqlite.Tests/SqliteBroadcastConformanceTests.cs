using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Sqlite.Tests;

/// <summary>The SQLite broker passes the shared broadcast suite, every test on a new transport over one file.</summary>
public sealed class SqliteBroadcastConformanceTests(TemporaryFolder folder) : BroadcastConformanceTests, IClassFixture<TemporaryFolder>
{
    protected override Task<ITransport> CreateTransportAsync() =>
        Task.FromResult<ITransport>(new SqliteTransport(new SqliteOptions { Path = folder.File("shared.db") }));
}
