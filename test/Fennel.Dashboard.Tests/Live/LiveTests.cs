using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Fennel.Dashboard.Live;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Dashboard.Tests.Live;

/// <summary>GET /api/live: server-sent snapshots over real HTTP, fed by workers on the in-memory broker.</summary>
public sealed class LiveTests
{
    private static void Admin(FennelDashboardOptions o) => o.Users.Add(FennelDashboardUser.Parse("admin:right"));

    private static JsonObject? Worker(JsonNode snapshot, string node) =>
        snapshot["workers"]!.AsArray().Select(w => w!.AsObject()).FirstOrDefault(w => w["node"]!.GetValue<string>() == node);

    [Fact]
    public async Task The_first_snapshot_comes_at_once_with_the_overview_workers_tasks_version_and_time_and_stream_headers()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        // A long interval: the snapshot that arrives must be the one made on connecting.
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            Admin(o);
            o.LiveInterval = TimeSpan.FromMinutes(1);
        });
        using var admin = host.Client("admin", "right");
        using var live = await ServerSentEvents.OpenAsync(admin);

        Assert.Equal("text/event-stream", live.Response.Content.Headers.ContentType!.MediaType);
        Assert.True(live.Response.Headers.CacheControl!.NoCache, "Cache-Control: no-cache");
        Assert.Equal("no", Assert.Single(live.Response.Headers.GetValues("X-Accel-Buffering")));

        var snapshot = await live.NextSnapshotAsync(TimeSpan.FromSeconds(20));
        var overview = await GetJsonAsync(admin, "api/overview");
        Assert.Equal(overview["workers"]!.ToJsonString(), snapshot["overview"]!["workers"]!.ToJsonString());
        Assert.Equal(15, snapshot["overview"]!["throughput"]!["minutes"]!.GetValue<int>());
        Assert.Equal(15, snapshot["overview"]!["throughput"]!["per_minute"]!.AsArray().Count);
        Assert.Empty(snapshot["workers"]!.AsArray());
        Assert.Equal(0, snapshot["tasks_version"]!.GetValue<long>());
        Assert.True(DateTimeOffset.TryParse(snapshot["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task A_worker_appears_its_task_grows_tasks_version_and_it_goes_offline_in_the_snapshots()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var host = await DashboardHost.StartAsync(app, Admin);
        using var admin = host.Client("admin", "right");
        using var live = await ServerSentEvents.OpenAsync(admin);
        var first = await live.NextSnapshotAsync();
        Assert.Null(Worker(first, "a@live"));
        var version = first["tasks_version"]!.GetValue<long>();

        var worker = app.CreateWorker(o =>
        {
            o.NodeName = "a@live";
            o.TaskEvents = true;
        });
        await worker.StartAsync();
        await using (worker)
        {
            var online = await live.WaitForSnapshotAsync(s => Worker(s, "a@live")?["online"]?.GetValue<bool>() == true, "a@live online");
            Assert.Equal(1, online["overview"]!["workers"]!["online"]!.GetValue<int>());

            Assert.Equal(5, await (await add.DelayAsync(2, 3)).GetAsync(TimeSpan.FromSeconds(20)));
            var after = await live.WaitForSnapshotAsync(s => s["overview"]!["tasks"]!["by_state"]!["SUCCESS"]?.GetValue<long>() == 1, "the task counted as SUCCESS");
            // sent, received, started, succeeded: four task events applied by the history.
            Assert.True(after["tasks_version"]!.GetValue<long>() >= version + 4, $"tasks_version grew from {version} to {after["tasks_version"]}");
            await worker.StopAsync();
        }
        var gone = await live.WaitForSnapshotAsync(s => Worker(s, "a@live")?["online"]?.GetValue<bool>() == false, "a@live offline");
        Assert.Equal(1, gone["overview"]!["workers"]!["offline"]!.GetValue<int>());
    }

    [Fact]
    public async Task Without_credentials_the_live_stream_is_401()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        await using var host = await DashboardHost.StartAsync(app, Admin);
        using var anonymous = host.Client();
        using var response = await anonymous.GetAsync("api/live", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var wrong = host.Client("admin", "wrong");
        using var refused = await wrong.GetAsync("api/live", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(0, host.Services.GetRequiredService<LiveFeed>().Produced);
    }

    [Fact]
    public async Task A_burst_of_5000_task_events_gives_one_snapshot_per_interval_made_once_for_all_listeners()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var host = await DashboardHost.StartAsync(app, Admin);
        var feed = host.Services.GetRequiredService<LiveFeed>();
        using var admin = host.Client("admin", "right");
        using var live = await ServerSentEvents.OpenAsync(admin);
        using var second = await ServerSentEvents.OpenAsync(host.Client("admin", "right"));
        using var third = await ServerSentEvents.OpenAsync(host.Client("admin", "right"));
        var version = (await live.NextSnapshotAsync())["tasks_version"]!.GetValue<long>();
        await second.NextSnapshotAsync();
        await third.NextSnapshotAsync();

        var produced = feed.Produced;
        var clock = Stopwatch.StartNew();
        // No worker: each task is one task-sent event (TaskSentEvents), 5 000 of them as fast as the client sends.
        for (var i = 0; i < 10; i++) await Task.WhenAll(Enumerable.Range(0, 500).Select(j => add.DelayAsync(i, j)));
        // Count what arrives over three seconds (cancelling a read would drop the connection: read on, stop counting).
        var messages = 0;
        var window = Stopwatch.StartNew();
        while (window.Elapsed < TimeSpan.FromSeconds(3))
        {
            await live.NextSnapshotAsync();
            messages++;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var made = feed.Produced - produced;
        // One per second (the default interval) plus the edges; 5 000 events would be thousands.
        Assert.InRange(messages, 1, (int)seconds + 2);
        Assert.InRange(made, 1, (long)seconds + 2);
        Assert.Equal(3, feed.ListenerCount);

        var last = await live.WaitForSnapshotAsync(s => s["tasks_version"]!.GetValue<long>() >= version + 5000, "all 5 000 task-sent events applied");
        Assert.True(last["tasks_version"]!.GetValue<long>() >= version + 5000);
    }

    [Fact]
    public async Task The_stream_ends_quietly_when_the_client_goes_and_when_the_host_stops()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        var host = await DashboardHost.StartAsync(app, Admin);
        var feed = host.Services.GetRequiredService<LiveFeed>();
        using var admin = host.Client("admin", "right");
        var leaving = await ServerSentEvents.OpenAsync(admin);
        await leaving.NextSnapshotAsync();
        leaving.Dispose();
        await Eventually.HoldsAsync(() => feed.ListenerCount == 0, "the listener gone");
        var producedAfterLeaving = feed.Produced;

        using var staying = await ServerSentEvents.OpenAsync(admin);
        await staying.NextSnapshotAsync();
        Assert.True(feed.Produced > producedAfterLeaving, "the producer starts again for a new listener");
        var stopping = host.DisposeAsync().AsTask();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (await staying.NextAsync(deadline.Token) is not null)
            {
                // Snapshots until the host stops: then the stream ends.
            }
        }
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Empty(host.Log.Errors);
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {response.StatusCode}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }
}
