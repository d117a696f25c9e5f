using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>Ack, dead letters, purge, declare and queue lengths.</summary>
public abstract partial class TransportConformanceTests
{
    [Fact]
    public async Task Ack_removes_message()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "done");
        var delivery = await FetchOneAsync(queue, ShortLease);

        await Transport.AckAsync(delivery);

        Assert.Equal(0, await Transport.GetQueueLengthAsync(queue));
        // Well past the short lease: an unacked message would be back by now.
        Assert.Empty(await Transport.FetchAsync([queue], 1, LongLease, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Dead_letter_keeps_reason_and_body_and_can_be_requeued()
    {
        if (Transport is not IDeadLetterStore) return;
        var store = Assert.IsAssignableFrom<IDeadLetterStore>(Transport);
        var queue = NewQueue();
        await PublishAsync(queue, "poison");
        var delivery = await FetchOneAsync(queue, ShortLease);

        await Transport.DeadLetterAsync(delivery, "malformed body");

        Assert.Equal(0, await Transport.GetQueueLengthAsync(queue));
        var letter = Assert.Single(await store.ListDeadLettersAsync(1000), d => d.Queue == queue);
        Assert.Equal("poison", BodyText(letter.Body));
        Assert.Equal("malformed body", letter.Reason);
        Assert.Equal(1, letter.DeliveryCount);
        Assert.InRange(letter.DeadLetteredAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        // Out of circulation: not redelivered after the lease would have lapsed.
        Assert.Empty(await Transport.FetchAsync([queue], 1, LongLease, TimeSpan.FromSeconds(1)));

        Assert.True(await store.RequeueDeadLetterAsync(letter.Id));

        Assert.DoesNotContain(await store.ListDeadLettersAsync(1000), d => d.Id == letter.Id);
        var requeued = await FetchOneAsync(queue, LongLease);
        Assert.Equal("poison", Text(requeued));
        Assert.Equal(1, requeued.DeliveryCount);
        Assert.False(await store.RequeueDeadLetterAsync(letter.Id));
    }

    [Fact]
    public async Task Dead_letters_are_listed_newest_first_and_purged()
    {
        if (Transport is not IDeadLetterStore) return;
        var store = Assert.IsAssignableFrom<IDeadLetterStore>(Transport);
        var queue = NewQueue();
        await PublishAsync(queue, "first", "second");
        foreach (var delivery in await Transport.FetchAsync([queue], 2, LongLease, ArrivalWait))
        {
            await Transport.DeadLetterAsync(delivery, $"reason {Text(delivery)}");
        }

        var ours = (await store.ListDeadLettersAsync(1000)).Where(d => d.Queue == queue).Select(d => d.Reason);
        Assert.Equal(new[] { "reason second", "reason first" }, ours);

        Assert.True(await store.PurgeDeadLettersAsync() >= 2);
        Assert.Empty(await store.ListDeadLettersAsync(1000));
    }

    [Fact]
    public async Task Purge_removes_ready_messages_only()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "held", "ready 1", "ready 2");
        var held = await FetchOneAsync(queue, LongLease);

        Assert.Equal(2, await Transport.PurgeAsync(queue));

        Assert.Equal(0, await Transport.GetQueueLengthAsync(queue));
        // The leased message was left alone: released, it is back.
        await Transport.ReleaseAsync(held);
        Assert.Equal(1, await Transport.GetQueueLengthAsync(queue));
        Assert.Equal("held", Text(await FetchOneAsync(queue, LongLease)));
    }

    [Fact]
    public async Task Purge_leaves_other_queues_alone()
    {
        var (purged, kept) = (NewQueue(), NewQueue());
        await PublishAsync(purged, "a", "b");
        await PublishAsync(kept, "c");

        Assert.Equal(2, await Transport.PurgeAsync(purged));

        Assert.Equal(1, await Transport.GetQueueLengthAsync(kept));
    }

    [Fact]
    public async Task Queue_length_counts_waiting_messages()
    {
        var queue = NewQueue();
        await Transport.DeclareQueueAsync(queue);
        Assert.Equal(0, await Transport.GetQueueLengthAsync(queue));

        await PublishAsync(queue, "1", "2", "3");
        Assert.Equal(3, await Transport.GetQueueLengthAsync(queue));

        var delayed = Transport.Capabilities.HasFlag(TransportCapabilities.DelayedPublish) ? 1 : 0;
        if (delayed == 1)
        {
            await Transport.PublishAsync(new OutgoingMessage(queue, Body("later"), NotBefore: DateTimeOffset.UtcNow.AddHours(1)));
        }
        Assert.Equal(3 + delayed, await Transport.GetQueueLengthAsync(queue));

        var leased = await FetchOneAsync(queue, TimeSpan.FromSeconds(2));
        Assert.Equal(2 + delayed, await Transport.GetQueueLengthAsync(queue));

        // A lapsed lease counts as waiting again.
        await Eventually.HoldsAsync(async () => await Transport.GetQueueLengthAsync(queue) == 3 + delayed, "the lapsed lease counts again");
        Assert.NotNull(leased);
    }
}
