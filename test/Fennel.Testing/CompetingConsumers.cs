using Fennel.Transport;

namespace Fennel.Testing;

/// <summary>Consumers that compete for one queue, as worker processes do.</summary>
public static class CompetingConsumers
{
    /// <summary>
    /// Runs one consumer per entry of <paramref name="transports"/> (fetch a few, ack each) until <paramref name="expected"/>
    /// messages were received in total or a minute passed; returns every body received as text, duplicates included.
    /// </summary>
    public static async Task<List<string>> RunAsync(IReadOnlyList<ITransport> transports, string queue, int expected)
    {
        ArgumentNullException.ThrowIfNull(transports);
        var seen = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        var consumers = transports.Select(transport => Task.Run(async () =>
        {
            while (DateTime.UtcNow < deadline)
            {
                lock (seen)
                {
                    if (seen.Count >= expected) return;
                }
                var batch = await transport.FetchAsync([queue], 7, TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(200));
                lock (seen) seen.AddRange(batch.Select(TextMessages.TextOf));
                foreach (var delivery in batch) await transport.AckAsync(delivery);
            }
        }));
        await Task.WhenAll(consumers);
        return seen;
    }
}
