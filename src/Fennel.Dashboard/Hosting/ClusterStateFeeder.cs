using Fennel.Control;
using Fennel.Dashboard.History;
using Fennel.Dashboard.Metrics;
using Fennel.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Hosting;

/// <summary>
/// Keeps the dashboard's cluster state and task history fed: opens the history when the host starts, subscribes once to
/// every Celery event and gives each to both (and to the task metrics), then pings so the workers already running show before their next
/// heartbeat. On stop it unsubscribes, then disposes the history (writing what is waiting).
/// </summary>
internal sealed class ClusterStateFeeder(DashboardServices dashboard, TaskMetrics metrics, ILogger<ClusterStateFeeder> logger, ILoggerFactory loggers) : BackgroundService
{
    /// <summary>The heartbeat interval assumed for a node known only from its pong (Celery's and Fennel's default).</summary>
    private const double PingFreq = 2.0;

    private TaskHistoryStore? _history;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _history = await TaskHistoryStore.OpenAsync(dashboard.Options.History, dashboard.Time,
                loggers.CreateLogger<TaskHistoryStore>(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The host does not start without its history: a wrong path or a newer file is a configuration error.
            dashboard.HistoryFailed(ex);
            throw;
        }
        dashboard.HistoryOpened(_history);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await base.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // After the subscription is gone, so nothing appends to a closed store.
            if (_history is { } history) await history.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var history = _history ?? throw new InvalidOperationException("The history was not opened.");
        IAsyncDisposable subscription;
        try
        {
            subscription = await dashboard.App.Client.SubscribeEventsAsync(async e =>
            {
                dashboard.State.Apply(e);
                metrics.Apply(e, dashboard.State);
                await history.AppendAsync([e], stoppingToken).ConfigureAwait(false);
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
