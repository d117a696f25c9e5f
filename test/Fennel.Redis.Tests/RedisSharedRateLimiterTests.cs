using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Redis.Tests;

/// <summary>The Redis broker's cluster-wide rate limits pass the shared suite; each limiter has its own connection.</summary>
public sealed class RedisSharedRateLimiterTests : SharedRateLimiterConformanceTests
{
    protected override Task<ISharedRateLimiter> CreateLimiterAsync() => Task.FromResult<ISharedRateLimiter>(RedisTestDatabase.NewTransport());

    [Fact]
    public async Task The_limit_key_expires_shortly_after_the_turn_it_guards()
    {
        await using var transport = RedisTestDatabase.NewTransport();
        var key = $"tasks.expiring.{Guid.NewGuid():N}";
        Assert.Equal(TimeSpan.Zero, await transport.TryTakeTurnAsync(key, TimeSpan.FromSeconds(2)));
        var ttl = await RedisTestDatabase.Database.KeyTimeToLiveAsync("_fennel.rate_limit." + key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Redis_offers_shared_rate_limits()
    {
        await using var transport = RedisTestDatabase.NewTransport();
        Assert.IsAssignableFrom<ISharedRateLimiter>(transport);
    }
}
