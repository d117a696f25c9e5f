using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Dashboard.Hosting;

namespace Fennel.Dashboard.Api;

/// <summary>The queues the workers consume, asked live with <c>active_queues</c>, and the queues the dashboard knows (<c>GET /api/queues</c> and the metrics' queue depths).</summary>
internal static class QueueConsumers
{
    /// <summary>
    /// Each queue that answering workers consume, with their node names. Waits until every worker the cluster state knows
    /// to be online has answered, or <see cref="FennelDashboardOptions.ControlTimeout"/> (a worker no heartbeat announced
    /// yet is heard only when the known ones are slower than it).
    /// </summary>
    public static async Task<SortedDictionary<string, SortedSet<string>>> AskAsync(DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var online = dashboard.State.Snapshot().Workers.Count(w => w.IsOnline);
        var replies = await dashboard.App.Client.Control.RequestAsync("active_queues", [],
            new ControlRequestOptions { Timeout = dashboard.Options.ControlTimeout, Limit = online > 0 ? online : null }, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// The queues the dashboard knows: those consumed (<paramref name="consumed"/>, from <see cref="AskAsync"/>), the
    /// default queue, and those the history's tasks were sent to (<c>task-sent</c>), consumed or not.
    /// </summary>
    public static async Task<SortedSet<string>> KnownAsync(DashboardServices dashboard, IEnumerable<string> consumed, CancellationToken cancellationToken)
    {
        var names = new SortedSet<string>(consumed, StringComparer.Ordinal) { dashboard.App.Options.DefaultQueue };
        var history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        names.UnionWith(await history.ListQueuesAsync(cancellationToken).ConfigureAwait(false));
        return names;
    }
}
