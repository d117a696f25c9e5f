using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>Leases: they lapse, renewals keep them, and a holder that lost one changes nothing.</summary>
public abstract partial class TransportConformanceTests
{
    [Fact]
    public async Task Lease_lapses_and_message_is_redelivered_with_higher_count()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "crashy");
        var first = await FetchOneAsync(queue, ShortLease);

        // Not settled: the consumer is "lost". The message comes back once the lease lapses.
        var second = await FetchOneAsync(queue, LongLease);

        Assert.Equal("crashy", Text(second));
        Assert.Equal(first.DeliveryCount + 1, second.DeliveryCount);
        Assert.True(second.Redelivered);
    }

    [Fact]
    public async Task Renewed_lease_keeps_message_from_others()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "long task");
        var lease = TimeSpan.FromSeconds(2);
        var held = await FetchOneAsync(queue, lease);

        using var stop = new CancellationTokenSource();
        var renewing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Transport.RenewAsync([held], lease);
                try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { return; }
            }
        });
        // Another consumer waits well past the original lease; the renewals keep the message from it.
        var other = await Transport.FetchAsync([queue], 1, LongLease, TimeSpan.FromSeconds(3.5));
        await stop.CancelAsync();
        await renewing;

        Assert.Empty(other);
        await Transport.AckAsync(held);
        Assert.Equal(0, await Transport.GetQueueLengthAsync(queue));
        Assert.Empty(await Transport.FetchAsync([queue], 1, LongLease, lease + TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Stale_holder_cannot_ack_after_lease_lapsed()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "contested");
        var stale = await FetchOneAsync(queue, ShortLease);
        var current = await FetchOneAsync(queue, LongLease);
        Assert.Equal(2, current.DeliveryCount);

        await Transport.AckAsync(stale);

        // The current holder still has it: its release puts it back.
        await Transport.ReleaseAsync(current);
        var again = await FetchOneAsync(queue, LongLease);
        Assert.Equal("contested", Text(again));
    }

    [Fact]
    public async Task Stale_holder_cannot_release_or_renew_after_lease_lapsed()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "contested");
        var stale = await FetchOneAsync(queue, ShortLease);
        var current = await FetchOneAsync(queue, TimeSpan.FromSeconds(4));

        await Transport.ReleaseAsync(stale);
        await Transport.RenewAsync([stale], LongLease);

        // The stale release did not free it ...
        Assert.Empty(await FetchNowAsync(queue));
        // ... and the stale renewal did not extend the current holder's lease: it lapses on time and comes back.
        var third = await FetchOneAsync(queue, LongLease);
        Assert.Equal(current.DeliveryCount + 1, third.DeliveryCount);
    }

    [Fact]
    public async Task Release_makes_message_available_again_without_counting_a_delivery()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "not now");
        var first = await FetchOneAsync(queue, LongLease);

        await Transport.ReleaseAsync(first);

        var again = Assert.Single(await FetchNowAsync(queue));
        Assert.Equal("not now", Text(again));
        Assert.Equal(1, again.DeliveryCount);
        Assert.False(again.Redelivered);
    }

    [Fact]
    public async Task Release_with_not_before_hides_message_until_due()
    {
        if (!Transport.Capabilities.HasFlag(TransportCapabilities.DelayedDelivery)) return;
        var queue = NewQueue();
        await PublishAsync(queue, "eta");
        var first = await FetchOneAsync(queue, LongLease);

        await Transport.ReleaseAsync(first, DateTimeOffset.UtcNow.AddSeconds(2.5));

        Assert.Empty(await FetchNowAsync(queue));
        Assert.Equal(1, await Transport.GetQueueLengthAsync(queue));
        var due = await FetchOneAsync(queue, LongLease);
        Assert.Equal("eta", Text(due));
        Assert.Equal(1, due.DeliveryCount);
    }
}
