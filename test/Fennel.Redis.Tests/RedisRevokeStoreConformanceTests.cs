using Fennel.Testing;
using Fennel.Transport;

namespace Fennel.Redis.Tests;

/// <summary>The Redis broker keeps revokes (the stream <c>_fennel.revokes</c>) as the shared suite expects.</summary>
public sealed class RedisRevokeStoreConformanceTests : RevokeStoreConformanceTests
{
    protected override Task<ITransport> CreateStoreAsync() => Task.FromResult<ITransport>(RedisTestDatabase.NewTransport());

    [Fact]
    public async Task Expired_entries_are_deleted_from_the_stream_by_the_next_write()
    {
        // Trimming stops at the first live entry (entries are in time order), so start from an empty stream.
        await RedisTestDatabase.Database.KeyDeleteAsync(RedisKeys.Revokes);
        var now = DateTimeOffset.UtcNow;
        await Store.AddRevokesAsync([new Revocation(NewPrefix(), false, now.AddHours(-2), now.AddHours(-1))]);
        Assert.True(await RedisTestDatabase.Database.StreamLengthAsync(RedisKeys.Revokes) >= 1);

        await Store.AddRevokesAsync(Live([NewPrefix()]));

        var entries = await RedisTestDatabase.Database.StreamRangeAsync(RedisKeys.Revokes);
        Assert.All(entries, e => Assert.True((long)e["expires_at"] > now.ToUnixTimeMilliseconds(), $"entry {e.Id} expired but was kept"));
    }
}
