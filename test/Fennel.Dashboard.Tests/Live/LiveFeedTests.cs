using Fennel.Dashboard.History;
using Fennel.Dashboard.Hosting;
using Fennel.Dashboard.Live;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Dashboard.Tests.Live;

/// <summary>The live stream's producer and fan-out, without HTTP: a listener that never reads holds up nobody.</summary>
public sealed class LiveFeedTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    [Fact]
    public async Task A_listener_that_never_reads_keeps_only_the_newest_snapshots_and_others_still_get_every_one()
    {
        await using var app = TestApps.Create();
        var options = new FennelDashboardOptions { LiveInterval = TimeSpan.FromMilliseconds(50) };
        options.History.Path = folder.NewFilePath("history.db");
        var dashboard = new DashboardServices(app, options, TimeProvider.System);
        await using var history = await TaskHistoryStore.OpenAsync(options.History);
        dashboard.HistoryOpened(history);
        using var lifetime = new Lifetime();
        using var feed = new LiveFeed(dashboard, NullLogger<LiveFeed>.Instance, lifetime);

        using var stuck = feed.Listen();
        using var reading = feed.Listen();
        var received = 0;
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (received < 10)
            {
                await reading.Reader.ReadAsync(deadline.Token);
                received++;
            }
        }
        Assert.InRange(stuck.Reader.Count, 1, LiveFeed.ListenerBuffer);
        Assert.True(feed.Produced >= 10, $"made {feed.Produced}");

        // The host stopping ends every listener's stream (once what is buffered is read).
        await lifetime.StopAsync();
        foreach (var listener in new[] { stuck, reading })
        {
            while (listener.Reader.TryRead(out _))
            {
                // Drain.
            }
            await listener.Reader.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private sealed class Lifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public Task StopAsync() => _stopping.CancelAsync();

        public void StopApplication() => _stopping.Cancel();

        public void Dispose() => _stopping.Dispose();
    }
}
