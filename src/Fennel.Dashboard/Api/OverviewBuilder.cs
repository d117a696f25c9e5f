using Fennel.Dashboard.Hosting;

namespace Fennel.Dashboard.Api;

/// <summary>The overview (<c>GET /api/overview</c> and the live stream's <c>overview</c>): worker counts from the cluster state, task counts and throughput from the history.</summary>
internal static class OverviewBuilder
{
    public const int DefaultMinutes = 15;
    public const int MaxMinutes = 24 * 60;

    public static async Task<OverviewView> BuildAsync(DashboardServices dashboard, int minutes, CancellationToken cancellationToken)
    {
        var workers = dashboard.State.Snapshot().Workers;
        var online = workers.Where(w => w.IsOnline).ToList();
        var history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        var counts = await history.CountByStateAsync(cancellationToken).ConfigureAwait(false);
        var buckets = await history.GetThroughputAsync(minutes, cancellationToken).ConfigureAwait(false);

        // Every minute of the window, oldest first, zeros included: a chart needs no gaps filled in.
        var current = dashboard.Time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000 * 60_000;
        var byMinute = buckets.GroupBy(b => b.Minute.ToUnixTimeMilliseconds()).ToDictionary(g => g.Key, g => g.ToList());
        var perMinute = new List<MinuteView>(minutes);
        for (var i = minutes - 1; i >= 0; i--)
        {
            var minute = current - (i * 60_000L);
            var states = byMinute.TryGetValue(minute, out var list)
                ? new SortedDictionary<string, long>(list.ToDictionary(b => b.State, b => b.Count, StringComparer.Ordinal), StringComparer.Ordinal)
                : new SortedDictionary<string, long>(StringComparer.Ordinal);
            perMinute.Add(new MinuteView(DateTimeOffset.FromUnixTimeMilliseconds(minute), states.Values.Sum(), states));
        }
        return new OverviewView(
            new WorkerCountsView(online.Count, workers.Count - online.Count),
            new TaskCountsView(online.Sum(w => (long)(w.Active ?? 0)), counts.Values.Sum(),
                new SortedDictionary<string, long>(counts.ToDictionary(), StringComparer.Ordinal)),
            new ThroughputView(minutes, perMinute));
    }
}
