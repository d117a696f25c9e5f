using Fennel.Testing;
using Fennel.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Fennel.Sqlite.Tests;

/// <summary>The SQLite broker's cluster-wide rate limits pass the shared suite: every limiter a transport of its own on one file.</summary>
public sealed class SqliteSharedRateLimiterTests(TemporaryFolder folder) : SharedRateLimiterConformanceTests, IClassFixture<TemporaryFolder>
{
    protected override Task<ISharedRateLimiter> CreateLimiterAsync() =>
        Task.FromResult<ISharedRateLimiter>(new SqliteTransport(new SqliteOptions { Path = folder.File("shared.db") }));

    [Fact]
    public async Task Turns_follow_the_transport_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var transport = new SqliteTransport(new SqliteOptions { Path = folder.NewFilePath("fennel.db") }, clock);
        var interval = TimeSpan.FromMilliseconds(100);
        Assert.Equal(TimeSpan.Zero, await transport.TryTakeTurnAsync("tasks.clocked", interval));
        clock.Advance(TimeSpan.FromMilliseconds(30));
        Assert.Equal(TimeSpan.FromMilliseconds(70), await transport.TryTakeTurnAsync("tasks.clocked", interval));
        clock.Advance(TimeSpan.FromMilliseconds(70));
        Assert.Equal(TimeSpan.Zero, await transport.TryTakeTurnAsync("tasks.clocked", interval));
        Assert.IsAssignableFrom<ISharedRateLimiter>(transport);
    }
}
