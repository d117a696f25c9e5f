using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Fennel.Dashboard.Tests.Api;

/// <summary>The JSON API against real in-process workers on the in-memory broker.</summary>
public class ApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static void Users(FennelDashboardOptions o)
    {
        o.Users.Add(FennelDashboardUser.Parse("admin:right"));
        o.Users.Add(FennelDashboardUser.Parse("viewer:look", readOnly: true));
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static async Task<JsonObject?> WorkerAsync(HttpClient client, string node) =>
        (await GetJsonAsync(client, "api/workers"))["workers"]!.AsArray().FirstOrDefault(w => w!["node"]!.GetValue<string>() == node)?.AsObject();

    [Fact]
    public async Task A_running_worker_shows_with_live_stats_and_its_queue_depth()
    {
        await using var app = TestApps.Create();
        await using var worker = await TestApps.StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var viewer = host.Client("viewer", "look");

        await Eventually.HoldsAsync(async () => await WorkerAsync(viewer, "a@test") is { } w && w["online"]!.GetValue<bool>(), "a@test online");
        var listed = (await WorkerAsync(viewer, "a@test"))!;
        Assert.NotNull(listed["last_heartbeat"]);

        var detail = await GetJsonAsync(viewer, "api/workers/a@test");
        Assert.True(detail["answered"]!.GetValue<bool>());
        Assert.Equal(2, detail["stats"]!["pool"]!["max-concurrency"]!.GetValue<int>());
        Assert.Contains(detail["active_queues"]!.AsArray(), q => q!["name"]!.GetValue<string>() == "celery");
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("api/workers/nobody@test")).StatusCode);

        var queues = (await GetJsonAsync(viewer, "api/queues"))["queues"]!.AsArray();
        var celery = Assert.Single(queues, q => q!["name"]!.GetValue<string>() == "celery")!;
        Assert.Equal(0, celery["messages"]!.GetValue<long>());
        Assert.Equal("a@test", Assert.Single(celery["consumers"]!.AsArray())!.GetValue<string>());
    }

    [Fact]
    public async Task A_worker_that_ran_before_the_dashboard_shows_from_the_first_ping()
    {
        await using var app = TestApps.Create();
        await using var worker = await TestApps.StartWorkerAsync(app, "early@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        // Heartbeats come every 2 s; the ping at start answers sooner, but either way the worker shows.
        await Eventually.HoldsAsync(async () => await WorkerAsync(admin, "early@test") is not null, "early@test listed", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Shutting_down_one_of_two_workers_stops_it_shows_it_offline_and_audits_it()
    {
        await using var app = TestApps.Create();
        await using var a = await TestApps.StartWorkerAsync(app, "a@test");
        await using var b = await TestApps.StartWorkerAsync(app, "b@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        using var viewer = host.Client("viewer", "look");
        await Eventually.HoldsAsync(async () => await WorkerAsync(admin, "a@test") is { } w && w["online"]!.GetValue<bool>() &&
            await WorkerAsync(admin, "b@test") is { } v && v["online"]!.GetValue<bool>(), "both online");

        await DashboardHost.UseAntiforgeryAsync(viewer);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("api/workers/shutdown", new { nodes = new[] { "a@test" } })).StatusCode);
        Assert.False(a.Completion.IsCompleted);

        await DashboardHost.UseAntiforgeryAsync(admin);
        using var response = await admin.PostAsJsonAsync("api/workers/shutdown", new { nodes = new[] { "a@test" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = Assert.Single(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray())!;
        Assert.Equal("a@test", result["node"]!.GetValue<string>());
        Assert.Equal("sent", result["status"]!.GetValue<string>());

        await a.Completion.WaitAsync(Wait);
        await Eventually.HoldsAsync(async () => await WorkerAsync(admin, "a@test") is { } w && !w["online"]!.GetValue<bool>(), "a@test offline");
        Assert.True((await WorkerAsync(admin, "b@test"))!["online"]!.GetValue<bool>());
        Assert.False(b.Completion.IsCompleted);

        var records = (await GetJsonAsync(viewer, "api/audit"))["records"]!.AsArray();
        Assert.Equal(2, records.Count);
        Assert.Equal("viewer", records[1]!["user"]!.GetValue<string>()); // the refused attempt, older
        Assert.StartsWith("refused:", records[1]!["outcome"]!.GetValue<string>(), StringComparison.Ordinal);
        var audit = records[0]!;
        Assert.Equal("admin", audit["user"]!.GetValue<string>());
        Assert.Equal("shutdown", audit["action"]!.GetValue<string>());
        Assert.Equal("a@test", Assert.Single(audit["targets"]!.AsArray())!.GetValue<string>());
        Assert.Equal("a@test: sent", audit["outcome"]!.GetValue<string>());
        Assert.NotNull(audit["time"]);
        var logged = Assert.Single(host.Log.Records, r => r.EventId == 8000);
        Assert.Contains("shutdown by admin", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Actions_answer_per_node_results()
    {
        await using var app = TestApps.Create();
        app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var a = await TestApps.StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        await DashboardHost.UseAntiforgeryAsync(admin);

        async Task<JsonArray> PostAsync(string action, object body)
        {
            using var response = await admin.PostAsJsonAsync("api/workers/" + action, body);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{action}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray();
        }

        var grow = await PostAsync("pool_grow", new { nodes = new[] { "a@test", "ghost@test" }, arguments = new { n = 2 } });
        Assert.Equal("ok", grow.Single(r => r!["node"]!.GetValue<string>() == "a@test")!["status"]!.GetValue<string>());
        Assert.Equal("no_reply", grow.Single(r => r!["node"]!.GetValue<string>() == "ghost@test")!["status"]!.GetValue<string>());
        Assert.Equal(4, a.Concurrency);

        var limit = Assert.Single(await PostAsync("rate_limit", new { all = true, arguments = new { task_name = "tasks.add", rate_limit = "10/m" } }))!;
        Assert.Equal("ok", limit["status"]!.GetValue<string>());
        var unknown = Assert.Single(await PostAsync("rate_limit", new { all = true, arguments = new { task_name = "tasks.nope", rate_limit = "10/m" } }))!;
        Assert.Equal("error", unknown["status"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("api/workers/add_consumer", new { all = true })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("api/workers/pool_grow", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("api/workers/pool_grow", new { all = true, nodes = new[] { "a@test" } })).StatusCode);
    }

    [Fact]
    public async Task Tasks_are_listed_filtered_paged_and_revoked()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var fail = app.Task<int, int>("tasks.fail", int (int x) => throw new InvalidOperationException("<script>alert(1)</script>"));
        await using var a = await TestApps.StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        await Eventually.HoldsAsync(async () => await WorkerAsync(admin, "a@test") is not null, "a@test listed");

        for (var i = 0; i < 3; i++) await (await add.DelayAsync(i, 1)).GetAsync(Wait);
        var failed = await fail.DelayAsync(1);
        await Eventually.HoldsAsync(async () => (await GetJsonAsync(admin, "api/tasks"))["total"]!.GetValue<int>() == 4 &&
            (await GetJsonAsync(admin, "api/tasks?state=FAILURE"))["total"]!.GetValue<int>() == 1 &&
            (await GetJsonAsync(admin, "api/tasks?state=SUCCESS"))["total"]!.GetValue<int>() == 3, "four finished tasks");

        var page = await GetJsonAsync(admin, "api/tasks?name=tasks.add&limit=2&offset=1");
        Assert.Equal(3, page["total"]!.GetValue<int>());
        Assert.Equal(2, page["tasks"]!.AsArray().Count);
        Assert.All(page["tasks"]!.AsArray(), t => Assert.Equal("tasks.add", t!["name"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("api/tasks?limit=0")).StatusCode);

        var detail = await GetJsonAsync(admin, "api/tasks/" + failed.Id);
        Assert.Equal("FAILURE", detail["task"]!["state"]!.GetValue<string>());
        Assert.Contains("<script>alert(1)</script>", detail["task"]!["exception"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(detail["timeline"]!.AsArray(), e => e!["type"]!.GetValue<string>() == "task-failed");
        // JSON, not HTML: the browser never renders it as markup.
        using var raw = await admin.GetAsync("api/tasks/" + failed.Id);
        Assert.Equal("application/json", raw.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("api/tasks/no-such-task")).StatusCode);

        await DashboardHost.UseAntiforgeryAsync(admin);
        using var revoke = await admin.PostAsJsonAsync($"api/tasks/{failed.Id}/revoke", new { terminate = true });
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        var audit = Assert.Single((await GetJsonAsync(admin, "api/audit"))["records"]!.AsArray())!;
        Assert.Equal("revoke (terminate)", audit["action"]!.GetValue<string>());
        Assert.Equal(failed.Id, Assert.Single(audit["targets"]!.AsArray())!.GetValue<string>());
    }
}
