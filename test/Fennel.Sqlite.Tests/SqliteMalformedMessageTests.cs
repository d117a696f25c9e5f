using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Sqlite.Tests;

/// <summary>The shared malformed-message suite on a SQLite file of its own.</summary>
public sealed class SqliteMalformedMessageTests(TemporaryFolder folder) : MalformedMessageConformanceTests, IClassFixture<TemporaryFolder>
{
    protected override string BrokerUrl { get; } = CreateUrl(folder);

    protected override Task PutStoredAsync(ITransport transport, string queue, byte[] stored) =>
        ((SqliteTransport)transport).PublishStoredAsync(queue, stored);

    private static string CreateUrl(TemporaryFolder folder)
    {
        var path = folder.NewFilePath("fennel.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return "sqlite:///" + path;
    }
}
