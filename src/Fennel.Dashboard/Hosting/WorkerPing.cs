using Fennel.Control;
using Fennel.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Hosting;

/// <summary>
/// Once the <see cref="EventFeed"/> listens, pings every worker once, so the workers already running show in the
/// cluster state before their next heartbeat (a node the state does not know yet gets a heartbeat of our own making,
/// which its next real one replaces). Logs 8020 with the count, or 8021 when the ping fails (the events still flow).
/// </summary>
internal sealed class WorkerPing(DashboardServices dashboard, ILogger<WorkerPing> logger) : BackgroundService
{
    /// <summary>The heartbeat interval assumed for a node known only from its pong (Celery's and Fennel's default).</summary>
    private const double PingFreq = 2.0;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await dashboard.Subscribed.WaitAsync(stoppingToken).ConfigureAwait(false);
            var replies = await dashboard.App.Client.Control.RequestAsync("ping", [],
                new ControlRequestOptions { Timeout = dashboard.Options.ControlTimeout }, stoppingToken).ConfigureAwait(false);
            var now = dashboard.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
            foreach (var node in replies.Select(r => r.Node).Distinct(StringComparer.Ordinal))
            {
                if (dashboard.State.GetWorker(node) is null) dashboard.State.Apply(new WorkerHeartbeatEvent { Hostname = node, Timestamp = now, Freq = PingFreq });
            }
            Log.Watching(logger, dashboard.App.Transport.GetType().Name, replies.Count);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (FennelException ex)
        {
            // The broker went away just after the subscription: the events still flow when it is back.
            Log.WatchFailed(logger, ex.Message, ex);
        }
    }
}
