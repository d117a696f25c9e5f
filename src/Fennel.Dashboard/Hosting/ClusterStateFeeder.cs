using Fennel.Control;
using Fennel.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Hosting;

/// <summary>
/// Keeps the dashboard's cluster state fed: subscribes to every Celery event, then pings so the workers already running
/// show before their next heartbeat.
/// </summary>
internal sealed class ClusterStateFeeder(DashboardServices dashboard, ILogger<ClusterStateFeeder> logger) : BackgroundService
{
    /// <summary>The heartbeat interval assumed for a node known only from its pong (Celery's and Fennel's default).</summary>
    private const double PingFreq = 2.0;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IAsyncDisposable subscription;
        try
        {
            subscription = await dashboard.App.Client.SubscribeEventsAsync(e =>
            {
                dashboard.State.Apply(e);
                return Task.CompletedTask;
            }, "#", stoppingToken).ConfigureAwait(false);
        }
        catch (FennelException ex)
        {
            Log.WatchFailed(logger, ex.Message, ex);
            return;
        }
        await using (subscription.ConfigureAwait(false))
        {
            try
            {
                var replies = await dashboard.App.Client.Control.RequestAsync("ping", [],
                    new ControlRequestOptions { Timeout = dashboard.Options.ControlTimeout }, stoppingToken).ConfigureAwait(false);
                var now = dashboard.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
                foreach (var node in replies.Select(r => r.Node).Distinct(StringComparer.Ordinal))
                {
                    // Seen alive now: a heartbeat of our own making, which the worker's next real one replaces.
                    if (dashboard.State.GetWorker(node) is null) dashboard.State.Apply(new WorkerHeartbeatEvent { Hostname = node, Timestamp = now, Freq = PingFreq });
                }
                Log.Watching(logger, dashboard.App.Transport.GetType().Name, replies.Count);
                await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping.
            }
        }
    }
}
