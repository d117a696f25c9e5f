using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Dashboard.Hosting;

namespace Fennel.Dashboard.Api;

/// <summary>The queues the workers consume, asked live with <c>active_queues</c> (<c>GET /api/queues</c> and the metrics' queue depths).</summary>
internal static class QueueConsumers
{
    /// <summary>Each queue that answering workers consume, with their node names; waits <see cref="FennelDashboardOptions.ControlTimeout"/> for replies.</summary>
    public static async Task<SortedDictionary<string, SortedSet<string>>> AskAsync(DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var replies = await dashboard.App.Client.Control.RequestAsync("active_queues", [],
            new ControlRequestOptions { Timeout = dashboard.Options.ControlTimeout }, cancellationToken).ConfigureAwait(false);
        var consumers = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var reply in replies)
        {
            if (reply.Payload is not JsonArray queues) continue;
            foreach (var queue in queues)
            {
                if (queue?["name"] is JsonValue value && value.TryGetValue<string>(out var name))
                {
                    if (!consumers.TryGetValue(name, out var nodes)) consumers[name] = nodes = new SortedSet<string>(StringComparer.Ordinal);
                    nodes.Add(reply.Node);
                }
            }
        }
        return consumers;
    }
}
