using Fennel.Dashboard.History;
using Fennel.Dashboard.Hosting;

namespace Fennel.Dashboard.Api;

/// <summary>
/// The workers the dashboard knows (<c>GET /api/workers</c>, the overview's counts, the live stream): those of the
/// in-memory cluster state, which the events keep current, and those only the history remembers (seen before the
/// dashboard's last restart and silent since), so a worker that went away while the dashboard was down still shows, offline.
/// </summary>
internal static class WorkerList
{
    public static async Task<IReadOnlyList<WorkerView>> ListAsync(DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var live = dashboard.State.Snapshot().Workers;
        var views = new List<WorkerView>(live.Count);
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var worker in live)
        {
            views.Add(WorkerView.From(worker));
            known.Add(worker.Hostname);
        }
        var history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var worker in await history.GetWorkersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (known.Add(worker.Hostname)) views.Add(WorkerView.From(worker));
        }
        var failed = await history.CountFailuresByWorkerAsync(cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < views.Count; i++)
        {
            if (failed.TryGetValue(views[i].Node, out var count)) views[i] = views[i] with { Failed = count };
        }
        views.Sort((a, b) => string.CompareOrdinal(a.Node, b.Node));
        return views;
    }
}
