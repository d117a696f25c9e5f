using Fennel.Dashboard.History;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Hosting;

/// <summary>
/// Owns the dashboard's task history: opens it when the host starts (the host does not start without it: a wrong path
/// or a file from a newer Fennel is a configuration error) and disposes it when the host stops, writing what is waiting.
/// The store trims itself every <see cref="TaskHistoryOptions.TrimInterval"/> while open. Registered before
/// <see cref="EventFeed"/>, so it opens before the feed subscribes and closes after the feed has unsubscribed.
/// </summary>
internal sealed class TaskHistoryHost(DashboardServices dashboard, ILoggerFactory loggers) : IHostedService
{
    private TaskHistoryStore? _history;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _history = await TaskHistoryStore.OpenAsync(dashboard.Options.History, dashboard.Time,
                loggers.CreateLogger<TaskHistoryStore>(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            dashboard.HistoryFailed(ex);
            throw;
        }
        dashboard.HistoryOpened(_history);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_history is { } history) await history.DisposeAsync().ConfigureAwait(false);
    }
}
