using System.Diagnostics;
using System.Net;
using Fennel.Transport;
using Xunit.Abstractions;

namespace Fennel.RabbitMQ.Tests;

/// <summary>A network cut that only heartbeats can detect: publishes fail with an error, then everything resumes.</summary>
public sealed class ConnectionLifeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task After_a_network_cut_publishes_fail_with_an_error_and_consuming_resumes_once_the_line_is_back()
    {
        var broker = TestBroker.Options();
        await using var proxy = new CuttableProxy(new IPEndPoint(IPAddress.Parse(broker.Host), broker.Port));
        var options = broker with { Port = proxy.Port, Heartbeat = TimeSpan.FromSeconds(1), ConfirmTimeout = TimeSpan.FromSeconds(3) };
        await using var transport = new RabbitMQTransport(options);
        var queue = $"cut-{Guid.NewGuid():N}";
        await transport.PublishAsync(new OutgoingMessage(queue, KombuBodies.Envelope("before")));
        var before = Assert.Single(await transport.FetchAsync([queue], 1, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(15)));
        await transport.AckAsync(before);
        // The ack is on its way: let the broker have it before the line goes (an ack lost in a cut means a redelivery).
        await Eventually.HoldsAsync(() => Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name", "messages_unacknowledged")
            .Contains($"{queue}\t0", StringComparison.Ordinal), $"the broker to have the ack of {queue}'s message");

        var connections = ConnectionsToTheVirtualHost();
        proxy.Cut();
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<BrokerException>(() => transport.PublishAsync(new OutgoingMessage(queue, KombuBodies.Envelope("during"))));
        output.WriteLine($"publish during the cut failed after {clock.Elapsed.TotalSeconds:0.0} s: {error.Message}");
        // Missed heartbeats end the connection (the tests of this project run one at a time: the count is this test's).
        await Eventually.HoldsAsync(() => ConnectionsToTheVirtualHost() < connections, "the broker to close the silent connection for missed heartbeats");
        proxy.Restore();

        // Publishing works again once the client reconnected on its own; the message published then is consumed.
        clock.Restart();
        while (true)
        {
            try
            {
                await transport.PublishAsync(new OutgoingMessage(queue, KombuBodies.Envelope("after")));
                break;
            }
            catch (BrokerException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
        output.WriteLine($"publishing again {clock.Elapsed.TotalSeconds:0.0} s after the line came back");
        var fetched = new List<string>();
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var delivery in await transport.FetchAsync([queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1)))
            {
                fetched.Add(KombuBodies.Unwrap(delivery.Body));
                await transport.AckAsync(delivery);
            }
            return fetched.Contains("after");
        }, () => $"the message published after the cut (consumed: {string.Join(", ", fetched)})", TimeSpan.FromSeconds(30));
        output.WriteLine($"consumed after the cut: {string.Join(", ", fetched)} ({clock.Elapsed.TotalSeconds:0.0} s after the line came back)");
        Assert.Contains("after", fetched);
        Assert.DoesNotContain("before", fetched);
    }

    private static int ConnectionsToTheVirtualHost() =>
        Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_connections", "-q", "vhost")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Count(l => l == TestBroker.VirtualHost);
}
