using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>Publishing and fetching: order, waiting, batches, competing consumers.</summary>
public abstract partial class TransportConformanceTests
{
    [Fact]
    public async Task Published_message_is_fetched_once()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "hello");

        var delivery = await FetchOneAsync(queue, LongLease);

        Assert.Equal("hello", Text(delivery));
        Assert.Equal(queue, delivery.Queue);
        Assert.Equal(1, delivery.DeliveryCount);
        Assert.False(delivery.Redelivered);
        Assert.Empty(await Transport.FetchAsync([queue], 10, LongLease, TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Priority_orders_delivery()
    {
        var queue = NewQueue();
        await Transport.PublishAsync(new OutgoingMessage(queue, Body("low"), Priority: 0));
        await Transport.PublishAsync(new OutgoingMessage(queue, Body("high"), Priority: 9));
        await Transport.PublishAsync(new OutgoingMessage(queue, Body("middle"), Priority: 5));

        var first = await FetchOneAsync(queue, LongLease);
        var rest = await FetchNowAsync(queue);

        string[] expected = LowerPriorityFirst ? ["low", "middle", "high"] : ["high", "middle", "low"];
        Assert.Equal(expected, rest.Select(Text).Prepend(Text(first)));
    }

    [Fact]
    public async Task Fifo_within_a_priority()
    {
        var queue = NewQueue();
        var bodies = Enumerable.Range(1, 8).Select(i => $"message {i}").ToArray();
        await PublishAsync(queue, bodies);

        var first = await FetchOneAsync(queue, LongLease);
        var rest = await FetchNowAsync(queue);

        Assert.Equal(bodies, new[] { first }.Concat(rest).Select(Text));
    }

    [Fact]
    public async Task Fetch_takes_from_every_given_queue()
    {
        var (a, b) = (NewQueue(), NewQueue());
        await PublishAsync(a, "from a");
        await PublishAsync(b, "from b");

        var fetched = await Transport.FetchAsync([a, b], 10, LongLease, TimeSpan.Zero);

        Assert.Equal(["from a", "from b"], fetched.Select(Text).Order());
        Assert.Equal([a, b], fetched.OrderBy(Text).Select(d => d.Queue));
    }

    [Fact]
    public async Task Fetch_takes_no_more_than_asked()
    {
        var queue = NewQueue();
        await PublishAsync(queue, "1", "2", "3", "4", "5");

        var fetched = await Transport.FetchAsync([queue], 2, LongLease, ArrivalWait);

        Assert.Equal(2, fetched.Count);
        Assert.Equal(3, await Transport.GetQueueLengthAsync(queue));
    }

    [Fact]
    public async Task Not_before_message_is_invisible_until_due()
    {
        if (!Transport.Capabilities.HasFlag(TransportCapabilities.DelayedPublish)) return;
        var queue = NewQueue();
        await Transport.PublishAsync(new OutgoingMessage(queue, Body("later"), NotBefore: DateTimeOffset.UtcNow.AddSeconds(2.5)));
        await PublishAsync(queue, "now");

        var ready = await FetchNowAsync(queue);
        var later = await FetchOneAsync(queue, LongLease);

        Assert.Equal(["now"], ready.Select(Text));
        Assert.Equal("later", Text(later));
        Assert.Equal(1, later.DeliveryCount);
    }

    [Fact]
    public async Task Fetch_waits_and_returns_empty_after_wait()
    {
        var queue = NewQueue();
        var wait = TimeSpan.FromMilliseconds(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var fetched = await Transport.FetchAsync([queue], 10, LongLease, wait);

        Assert.Empty(fetched);
        // A lower bound only: it must have waited, not returned at once (timer slack allowed).
        Assert.True(clock.Elapsed >= wait - TimeSpan.FromMilliseconds(30), $"Fetch returned after {clock.Elapsed}, before its wait of {wait}.");
    }

    [Fact]
    public async Task Fetch_wakes_when_a_message_is_published()
    {
        var queue = NewQueue();
        var fetch = Transport.FetchAsync([queue], 10, LongLease, TimeSpan.FromSeconds(20));
        // Give the fetch a moment to start waiting; the test holds without it, only weaker.
        await Task.Delay(100);
        Assert.False(fetch.IsCompleted, "The fetch returned before anything was published.");

        await PublishAsync(queue, "wake up");

        var fetched = await fetch.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(["wake up"], fetched.Select(Text));
    }

    [Fact]
    public async Task Fetch_honours_cancellation()
    {
        var queue = NewQueue();
        using var cancel = new CancellationTokenSource();
        var fetch = Transport.FetchAsync([queue], 1, LongLease, TimeSpan.FromMinutes(5), cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Batch_publish_keeps_every_message()
    {
        var queue = NewQueue();
        var bodies = Enumerable.Range(0, 300).Select(i => $"batch {i}").ToList();

        await Transport.PublishBatchAsync(bodies.Select(b => new OutgoingMessage(queue, Body(b))).ToList());

        Assert.Equal(bodies.Count, await Transport.GetQueueLengthAsync(queue));
        var fetched = new List<string>();
        while (fetched.Count < bodies.Count)
        {
            var batch = await Transport.FetchAsync([queue], 64, LongLease, ArrivalWait);
            Assert.NotEmpty(batch);
            fetched.AddRange(batch.Select(Text));
        }
        Assert.Equal(bodies, fetched);
    }

    [Fact]
    public async Task Concurrent_consumers_never_receive_the_same_message()
    {
        var queue = NewQueue();
        const int count = 500;
        await Transport.PublishBatchAsync(Enumerable.Range(0, count).Select(i => new OutgoingMessage(queue, Body($"m{i}"))).ToList());

        var seen = await CompetingConsumers.RunAsync([Transport, Transport, Transport, Transport], queue, count);

        Assert.Equal(count, seen.Count);
        Assert.Equal(count, seen.Distinct().Count());
    }
}
