using Fennel.Transport;

namespace Fennel.RabbitMQ.Tests;

/// <summary>
/// <c>cancel_consumer</c> on RabbitMQ: the broker pushes messages ahead of fetches, so a queue the worker stops fetching
/// must stop being consumed and give back what was pushed, or those messages would sit unacked in the process and hold
/// the channel's prefetch window that the remaining queues need.
/// </summary>
public sealed class StopConsumingTests
{
    [Fact]
    public async Task Stopping_a_queue_gives_back_its_pushed_messages_and_frees_the_prefetch_for_the_other_queues()
    {
        await using var transport = TestBroker.NewTransport();
        var (kept, stopped) = ($"kept-{Guid.NewGuid():N}", $"stopped-{Guid.NewGuid():N}");
        for (var i = 0; i < 4; i++) await transport.PublishAsync(new OutgoingMessage(stopped, KombuBodies.Envelope($"s{i}")));

        // A window of 4, all taken from the stopped queue; three are given back and the broker pushes them again at once,
        // so they wait in this process, unfetched, holding three of the four places in the window.
        var first = new List<Delivery>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (first.Count < 4 && DateTime.UtcNow < until) first.AddRange(await transport.FetchAsync([kept, stopped], 4 - first.Count, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1)));
        Assert.Equal(4, first.Count);
        var leased = first[0];
        foreach (var delivery in first.Skip(1)) await transport.ReleaseAsync(delivery);
        await Task.Delay(500);

        await transport.StopConsumingAsync(stopped);
        for (var i = 0; i < 4; i++) await transport.PublishAsync(new OutgoingMessage(kept, KombuBodies.Envelope($"k{i}")));

        // Only the kept queue is fetched now, and all of its messages arrive although the window was full before.
        var got = new List<Delivery>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (got.Count < 4 && DateTime.UtcNow < deadline) got.AddRange(await transport.FetchAsync([kept], 4 - got.Count, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1)));
        Assert.Equal(4, got.Count);
        Assert.All(got, d => Assert.Equal(kept, d.Queue));

        // The stopped queue has its three back, ready for any consumer; the leased one is untouched.
        Assert.Equal(3, await transport.GetQueueLengthAsync(stopped));
        await transport.AckAsync(leased);
        foreach (var delivery in got) await transport.AckAsync(delivery);
        var again = new List<Delivery>();
        until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (again.Count < 3 && DateTime.UtcNow < until) again.AddRange(await transport.FetchAsync([stopped], 3 - again.Count, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1)));
        Assert.Equal(3, again.Count);
        foreach (var delivery in again) await transport.AckAsync(delivery);
    }
}
