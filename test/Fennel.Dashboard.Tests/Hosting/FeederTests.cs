using System.Net;
using System.Text.Json.Nodes;

namespace Fennel.Dashboard.Tests.Hosting;

/// <summary>The event feed behind the dashboard: subscribed before the host has started, and retried when the broker is down.</summary>
public sealed class FeederTests
{
    [Fact]
    public async Task Events_sent_right_after_the_host_started_are_all_in_the_history()
    {
        // No waiting for the worker to show first: once StartAsync returned, the feed is subscribed.
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(FennelDashboardUser.Parse("admin:right")));
        await using var worker = await TestApps.StartWorkerAsync(app, "early@test");
        var sent = await add.DelayAsync(1, 2);
        Assert.Equal(3, await sent.GetAsync(TimeSpan.FromSeconds(20)));
        using var admin = host.Client("admin", "right");
        await Eventually.HoldsAsync(async () =>
        {
            var detail = await admin.GetAsync("api/tasks/" + sent.Id);
            return detail.StatusCode == HttpStatusCode.OK
                && JsonNode.Parse(await detail.Content.ReadAsStringAsync())!["timeline"]!.AsArray().Count == 3;
        }, "received, started and succeeded in the history");
    }

    [Fact]
    public async Task A_broker_that_cannot_be_reached_does_not_stop_the_dashboard_which_says_it_will_try_again()
    {
        // Nothing listens on port 1.
        await using var app = TestApps.Create(brokerUrl: "redis://127.0.0.1:1/0");
        await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(FennelDashboardUser.Parse("admin:right")));
        var failure = Assert.Single(host.Log.Records, r => r.EventId == 8021);
        Assert.Contains("trying again every 5 s", failure.Message, StringComparison.Ordinal);
        using var admin = host.Client("admin", "right");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("api/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("api/workers")).StatusCode);
    }
}
