using System.Collections.Concurrent;
using System.Diagnostics;
using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>
/// The behaviour every <see cref="ISharedRateLimiter"/> shares. A transport's test project subclasses this; each
/// <see cref="CreateLimiterAsync"/> call stands for another worker process on the same broker. Every test uses limit
/// keys of its own.
/// </summary>
public abstract class SharedRateLimiterConformanceTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _created = [];

    /// <summary>Another client of the one broker under test (a new connection, as another process would have).</summary>
    protected abstract Task<ISharedRateLimiter> CreateLimiterAsync();

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var created in _created) await created.DisposeAsync();
    }

    private async Task<ISharedRateLimiter> NewLimiterAsync()
    {
        var limiter = await CreateLimiterAsync();
        if (limiter is IAsyncDisposable disposable) _created.Add(disposable);
        return limiter;
    }

    private static string NewKey() => $"conformance.rate.{Guid.NewGuid():N}";

    [Fact]
    public async Task The_first_turn_is_free_and_the_next_is_one_interval_away()
    {
        var limiter = await NewLimiterAsync();
        var key = NewKey();
        var interval = TimeSpan.FromSeconds(30);
        Assert.Equal(TimeSpan.Zero, await limiter.TryTakeTurnAsync(key, interval));
        var wait = await limiter.TryTakeTurnAsync(key, interval);
        Assert.True(wait > TimeSpan.FromSeconds(25) && wait <= interval, $"Expected to wait about 30 s, not {wait}.");
    }

    [Fact]
    public async Task A_turn_comes_back_after_the_interval()
    {
        var limiter = await NewLimiterAsync();
        var key = NewKey();
        var interval = TimeSpan.FromMilliseconds(200);
        Assert.Equal(TimeSpan.Zero, await limiter.TryTakeTurnAsync(key, interval));
        var deadline = Stopwatch.StartNew();
        TimeSpan wait;
        while ((wait = await limiter.TryTakeTurnAsync(key, interval)) > TimeSpan.Zero)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "The turn never came back.");
            await Task.Delay(wait);
        }
    }

    [Fact]
    public async Task Limits_of_different_keys_are_independent()
    {
        var limiter = await NewLimiterAsync();
        var interval = TimeSpan.FromMinutes(1);
        var first = NewKey();
        Assert.Equal(TimeSpan.Zero, await limiter.TryTakeTurnAsync(first, interval));
        Assert.Equal(TimeSpan.Zero, await limiter.TryTakeTurnAsync(NewKey(), interval));
        Assert.NotEqual(TimeSpan.Zero, await limiter.TryTakeTurnAsync(first, interval));
    }

    [Fact]
    public async Task Clients_racing_for_turns_share_one_pace()
    {
        // Three clients (three worker processes) ask as fast as they can for 1.5 s at 10 turns a second: together they get
        // the turns one client alone would, never one each.
        var limiters = new[] { await NewLimiterAsync(), await NewLimiterAsync(), await NewLimiterAsync() };
        var key = NewKey();
        var interval = TimeSpan.FromMilliseconds(100);
        var granted = new ConcurrentBag<long>();
        var clock = Stopwatch.StartNew();
        var window = TimeSpan.FromSeconds(1.5);
        await Task.WhenAll(limiters.SelectMany(l => Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < window)
            {
                if (await l.TryTakeTurnAsync(key, interval) == TimeSpan.Zero) granted.Add(clock.ElapsedMilliseconds);
            }
        }))));
        var elapsed = clock.Elapsed;
        // At most one turn per interval of the time spent, plus the free first one (and one for a clock step).
        var most = (int)(elapsed / interval) + 2;
        Assert.True(granted.Count <= most, $"{granted.Count} turns in {elapsed.TotalMilliseconds:0} ms at one per {interval.TotalMilliseconds} ms.");
        Assert.True(granted.Count >= 2, $"Only {granted.Count} turns were given in {elapsed.TotalMilliseconds:0} ms.");
    }
}
