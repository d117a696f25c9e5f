using Fennel.Control;
using Fennel.Dashboard.History;
using Fennel.Dashboard.Metrics;
using Fennel.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Hosting;

/// <summary>
/// Keeps the dashboard's cluster state and task history fed: opens the history and subscribes to every Celery event
/// when the host starts (so once the host has started, no event is missed), gives each event to the state, the task
/// metrics and the history, then pings so the workers already running show before their next heartbeat. A broker that
/// cannot be reached at start is retried every <see cref="RetryInterval"/> (each failure logged, 8021). On stop it
/// unsubscribes, then disposes the history (writing what is waiting).
/// </summary>
internal sealed class ClusterStateFeeder(DashboardServices dashboard, TaskMetrics metrics, ILogger<ClusterStateFeeder> logger, ILoggerFactory loggers) : BackgroundService
{
    /// <summary>The heartbeat interval assumed for a node known only from its pong (Celery's and Fennel's default).</summary>
    private const double PingFreq = 2.0;

    /// <summary>How long to wait before subscribing again after the broker refused.</summary>
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private TaskHistoryStore? _history;
    private IAsyncDisposable? _subscription;
    private readonly CancellationTokenSource _stopping = new();

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
        _subscription = await TrySubscribeAsync(_history, cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await base.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The subscription first, so nothing appends to a closed store.
            if (_subscription is { } subscription) await subscription.DisposeAsync().ConfigureAwait(false);
            if (_history is { } history) await history.DisposeAsync().ConfigureAwait(false);
            _stopping.Dispose();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var history = _history ?? throw new InvalidOperationException("The history was not opened.");
        try
        {
            while (_subscription is null)
            {
                await Task.Delay(RetryInterval, dashboard.Time, stoppingToken).ConfigureAwait(false);
                _subscription = await TrySubscribeAsync(history, stoppingToken).ConfigureAwait(false);
            }
            var replies = await dashboard.App.Client.Control.RequestAsync("ping", [],
                new ControlRequestOptions { Timeout = dashboard.Options.ControlTimeout }, stoppingToken).ConfigureAwait(false);
            var now = dashboard.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
            foreach (var node in replies.Select(r => r.Node).Distinct(StringComparer.Ordinal))
            {
                // Seen alive now: a heartbeat of our own making, which the worker's next real one replaces.
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
            // The first ping failed (the broker went away just after the subscription): the events still flow when it is back.
            Log.WatchFailed(logger, ex.Message, ex);
        }
    }

    /// <summary>Subscribes to every event; null (logged) when the broker refuses.</summary>
    private async Task<IAsyncDisposable?> TrySubscribeAsync(TaskHistoryStore history, CancellationToken cancellationToken)
    {
        var stopping = _stopping.Token;
        try
        {
            return await dashboard.App.Client.SubscribeEventsAsync(async e =>
            {
                dashboard.State.Apply(e);
                metrics.Apply(e, dashboard.State);
                await history.AppendAsync([e], stopping).ConfigureAwait(false);
            }, "#", cancellationToken).ConfigureAwait(false);
        }
        catch (FennelException ex)
        {
            Log.WatchFailed(logger, $"{ex.Message} (trying again every {RetryInterval.TotalSeconds:0} s)", ex);
            return null;
        }
    }
}
