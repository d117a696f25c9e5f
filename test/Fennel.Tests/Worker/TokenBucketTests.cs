using Fennel.Worker;
using Microsoft.Extensions.Time.Testing;

namespace Fennel.Tests.Worker;

public class TokenBucketTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_first_token_is_there_and_the_next_comes_one_interval_later()
    {
        var clock = new FakeTimeProvider(Start);
        var bucket = new TokenBucket(clock);
        Assert.Equal(TimeSpan.Zero, bucket.TryTake(Interval));
        Assert.Equal(Interval, bucket.TryTake(Interval));
        clock.Advance(TimeSpan.FromMilliseconds(60));
        Assert.Equal(TimeSpan.FromMilliseconds(40), bucket.TryTake(Interval));
        clock.Advance(TimeSpan.FromMilliseconds(40));
        Assert.Equal(TimeSpan.Zero, bucket.TryTake(Interval));
    }

    [Fact]
    public void An_idle_bucket_saves_up_no_burst_capacity_is_one_as_kombus()
    {
        var clock = new FakeTimeProvider(Start);
        var bucket = new TokenBucket(clock);
        Assert.Equal(TimeSpan.Zero, bucket.TryTake(Interval));
        clock.Advance(TimeSpan.FromSeconds(10)); // a hundred intervals idle
        Assert.Equal(TimeSpan.Zero, bucket.TryTake(Interval));
        Assert.Equal(Interval, bucket.TryTake(Interval));
    }

    [Fact]
    public void Over_a_second_at_ten_per_second_exactly_ten_turns_are_given()
    {
        var clock = new FakeTimeProvider(Start);
        var bucket = new TokenBucket(clock);
        var turns = 0;
        for (var ms = 0; ms < 1000; ms++)
        {
            if (bucket.TryTake(Interval) == TimeSpan.Zero) turns++;
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.Equal(10, turns);
    }

    [Fact]
    public void A_changed_interval_applies_from_the_next_turn()
    {
        var clock = new FakeTimeProvider(Start);
        var bucket = new TokenBucket(clock);
        Assert.Equal(TimeSpan.Zero, bucket.TryTake(TimeSpan.FromMinutes(1)));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TimeSpan.Zero, bucket.TryTake(Interval));
        clock.Advance(Interval);
        Assert.Equal(TimeSpan.Zero, bucket.TryTake(Interval));
    }
}
