using Fennel.Dashboard.History;
using Fennel.Dashboard.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Hosting;

/// <summary>
/// Subscribes to every Celery event (<c>#</c>) when the host starts, so once the host has started no event is missed,
/// and gives each one, in arrival order, to the cluster state, the task metrics and the task history. A broker that
/// cannot be reached is retried every <see cref="RetryInterval"/> (each failure logged, 8021) while the rest of the
/// dashboard serves. Says when it listens (<see cref="DashboardServices.FeedSubscribed"/>). On stop it unsubscribes.
/// </summary>
internal sealed class EventFeed(DashboardServices dashboard, TaskMetrics metrics, ILogger<EventFeed> logger) : BackgroundService
{
    /// <summary>How long to wait before subscribing again after the broker refused.</summary>
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private TaskHistoryStore? _history;
    private IAsyncDisposable? _subscription;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Opened by TaskHistoryHost, which starts first.
        _history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        _subscription = await TrySubscribeAsync(_history, cancellationToken).ConfigureAwait(false);
        if (_subscription is not null) dashboard.FeedSubscribed();
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
            // Before TaskHistoryHost closes the store, so nothing appends to a closed store.
            if (_subscription is { } subscription) await subscription.DisposeAsync().ConfigureAwait(false);
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
                if (_subscription is not null) dashboard.FeedSubscribed();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
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
