using Fennel.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Sqlite.Tests;

/// <summary>The provider behind <c>sqlite://</c> URLs and its DI registration.</summary>
public sealed class SqliteTransportProviderTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    [Fact]
    public async Task Urls_naming_one_file_share_one_transport_and_one_result_store()
    {
        await using var services = new ServiceCollection().BuildServiceProvider();
        await using var provider = new SqliteTransportProvider();
        var path = folder.NewFilePath("fennel.db");
        var spelledOtherwise = Path.Combine(Path.GetDirectoryName(path)!, "..", Path.GetFileName(Path.GetDirectoryName(path)!), "fennel.db");

        var transport = provider.CreateTransport($"sqlite:///{path}", services);

        Assert.Same(transport, provider.CreateTransport($"sqlite:///{spelledOtherwise}", services));
        Assert.NotSame(transport, provider.CreateTransport($"sqlite:///{folder.NewFilePath("fennel.db")}", services));
        Assert.IsType<SqliteTransport>(transport);
        var results = provider.CreateResultStore($"sqlite:///{path}", services);
        Assert.IsType<SqliteResultStore>(results);
        Assert.Same(results, provider.CreateResultStore($"sqlite:///{spelledOtherwise}", services));
        Assert.Equal(["sqlite"], provider.Schemes);
    }

    [Fact]
    public async Task A_disposed_transport_is_replaced()
    {
        await using var services = new ServiceCollection().BuildServiceProvider();
        await using var provider = new SqliteTransportProvider();
        var url = $"sqlite:///{folder.NewFilePath("fennel.db")}";
        var first = provider.CreateTransport(url, services);
        await first.DisposeAsync();

        var second = provider.CreateTransport(url, services);

        Assert.NotSame(first, second);
        Assert.Equal(0, await second.GetQueueLengthAsync("celery"));
    }

    [Fact]
    public async Task Bad_url_throws_a_configuration_error()
    {
        await using var services = new ServiceCollection().BuildServiceProvider();
        await using var provider = new SqliteTransportProvider();

        Assert.Throws<FennelConfigurationException>(() => provider.CreateTransport("sqlite://nohost", services));
    }

    [Fact]
    public void AddFennelSqlite_registers_the_provider_once()
    {
        var services = new ServiceCollection();

        services.AddFennelSqlite().AddFennelSqlite();

        var registration = Assert.Single(services, d => d.ServiceType == typeof(ITransportProvider));
        Assert.Equal(typeof(SqliteTransportProvider), registration.ImplementationType);
        Assert.Equal(ServiceLifetime.Singleton, registration.Lifetime);
    }
}
