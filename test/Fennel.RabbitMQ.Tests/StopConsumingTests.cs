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
        var first = await FetchAsync(transport, [kept, stopped], 4);
        var leased = first[0];
        foreach (var delivery in first.Skip(1)) await transport.ReleaseAsync(delivery);
        // The broker has pushed the three again when it counts all four unacknowledged and none ready.
        await Eventually.HoldsAsync(() => Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name", "messages_ready", "messages_unacknowledged")
            .Contains($"{stopped}\t0\t4", StringComparison.Ordinal), $"the broker to push the three given-back messages of {stopped} again");

        await transport.StopConsumingAsync(stopped);
        for (var i = 0; i < 4; i++) await transport.PublishAsync(new OutgoingMessage(kept, KombuBodies.Envelope($"k{i}")));

        // Only the kept queue is fetched now, and all of its messages arrive although the window was full before.
        var got = await FetchAsync(transport, [kept], 4);
        Assert.All(got, d => Assert.Equal(kept, d.Queue));

        // The stopped queue has its three back, ready for any consumer; the leased one is untouched.
        Assert.Equal(3, await transport.GetQueueLengthAsync(stopped));
        await transport.AckAsync(leased);
        foreach (var delivery in got) await transport.AckAsync(delivery);
        var again = await FetchAsync(transport, [stopped], 3);
        foreach (var delivery in again) await transport.AckAsync(delivery);
    }

    /// <summary>Fetches until <paramref name="count"/> messages came, never more.</summary>
    private static async Task<List<Delivery>> FetchAsync(ITransport transport, string[] queues, int count)
    {
        var got = new List<Delivery>();
        await Eventually.HoldsAsync(async () =>
        {
            got.AddRange(await transport.FetchAsync(queues, count - got.Count, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1)));
            return got.Count == count;
        }, $"{count} messages from {string.Join(", ", queues)}");
        return got;
    }
}
