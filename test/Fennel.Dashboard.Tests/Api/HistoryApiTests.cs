using System.Net;
using System.Text.Json.Nodes;

namespace Fennel.Dashboard.Tests.Api;

/// <summary>The task history behind the API: real workers on the in-memory broker, the dashboard over HTTP, a history file on disk.</summary>
public sealed class HistoryApiTests : IClassFixture<TemporaryFolder>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TemporaryFolder _folder;

    public HistoryApiTests(TemporaryFolder folder) => _folder = folder;

    private Action<FennelDashboardOptions> On(string path) => o =>
    {
        o.Users.Add(FennelDashboardUser.Parse("admin:right"));
        o.History.Path = path;
    };

    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static async Task<int> TotalAsync(HttpClient client, string query) => (await GetJsonAsync(client, "api/tasks" + query))["total"]!.GetValue<int>();

    private static List<string> Ids(JsonNode page) => [.. page["tasks"]!.AsArray().Select(t => t!["id"]!.GetValue<string>())];

    [Fact]
    public async Task A_task_run_by_a_worker_is_listed_with_its_timeline_counted_in_the_overview_and_still_there_after_a_restart()
    {
        var path = _folder.NewFilePath("history.db");
        await using var app = TestApps.Create(taskSentEvents: true);
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var worker = await TestApps.StartWorkerAsync(app, "a@test");
        string id;
        await using (var host = await DashboardHost.StartAsync(app, On(path)))
        {
            using var admin = host.Client("admin", "right");
            // The feeder subscribes when the host starts; wait for it to see the worker before sending.
            await Eventually.HoldsAsync(async () => (await GetJsonAsync(admin, "api/overview"))["workers"]!["online"]!.GetValue<int>() == 1, "a@test online");

            var sent = await add.DelayAsync(2, 3);
            Assert.Equal(5, await sent.GetAsync(Wait));
            id = sent.Id;
            await Eventually.HoldsAsync(async () => await TotalAsync(admin, "?states=SUCCESS") == 1, "the task in the history as SUCCESS");

            var listed = Assert.Single((await GetJsonAsync(admin, "api/tasks"))["tasks"]!.AsArray())!;
            Assert.Equal(id, listed["id"]!.GetValue<string>());
            Assert.Equal("SUCCESS", listed["state"]!.GetValue<string>());
            Assert.Equal("tasks.add", listed["name"]!.GetValue<string>());
            Assert.Equal("a@test", listed["worker"]!.GetValue<string>());
            Assert.Equal("celery", listed["queue"]!.GetValue<string>());
            Assert.Equal("5", listed["result"]!.GetValue<string>());
            Assert.NotNull(listed["finished_at"]);

            var detail = await GetJsonAsync(admin, "api/tasks/" + id);
            Assert.Equal("SUCCESS", detail["task"]!["state"]!.GetValue<string>());
            var types = detail["timeline"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToList();
            // In sender-time order. task-sent is stamped after publishing (as Celery's client does), so on the in-memory
            // broker it may come after task-received; the worker's three are in order.
            Assert.Equal(["task-received", "task-started", "task-succeeded"], types.Where(t => t != "task-sent"));
            Assert.Single(types, "task-sent");
            Assert.All(detail["timeline"]!.AsArray(), e => Assert.NotNull(e!["time"]));
            Assert.Empty(detail["children"]!.AsArray());
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("api/tasks/no-such-task")).StatusCode);

            var overview = await GetJsonAsync(admin, "api/overview?minutes=5");
            Assert.Equal(1, overview["workers"]!["online"]!.GetValue<int>());
            Assert.Equal(0, overview["workers"]!["offline"]!.GetValue<int>());
            Assert.Equal(1, overview["tasks"]!["by_state"]!["SUCCESS"]!.GetValue<long>());
            Assert.Equal(1, overview["tasks"]!["total"]!.GetValue<long>());
            Assert.Equal(0, overview["tasks"]!["active"]!.GetValue<long>());
            var minutes = overview["throughput"]!["per_minute"]!.AsArray();
            Assert.Equal(5, minutes.Count);
            Assert.Equal(1, minutes.Sum(m => m!["by_state"]!["SUCCESS"]?.GetValue<long>() ?? 0));
        }

        // A new dashboard on the same file: the task is still there, before any new event.
        await using (var again = await DashboardHost.StartAsync(app, On(path)))
        {
            using var admin = again.Client("admin", "right");
            var listed = Assert.Single((await GetJsonAsync(admin, "api/tasks?states=SUCCESS"))["tasks"]!.AsArray())!;
            Assert.Equal(id, listed["id"]!.GetValue<string>());
            var detail = await GetJsonAsync(admin, "api/tasks/" + id);
            Assert.Equal(4, detail["timeline"]!.AsArray().Count);
            var overview = await GetJsonAsync(admin, "api/overview");
            Assert.Equal(1, overview["tasks"]!["by_state"]!["SUCCESS"]!.GetValue<long>());
        }
    }

    [Fact]
    public async Task A_worker_that_went_away_is_still_listed_offline_after_the_dashboard_restarts()
    {
        var path = _folder.NewFilePath("history.db");
        await using var app = TestApps.Create(taskSentEvents: true);
        var worker = await TestApps.StartWorkerAsync(app, "gone@test");
        await using (var host = await DashboardHost.StartAsync(app, On(path)))
        {
            using var admin = host.Client("admin", "right");
            await Eventually.HoldsAsync(async () => (await GetJsonAsync(admin, "api/overview"))["workers"]!["online"]!.GetValue<int>() == 1, "gone@test online");
            await worker.DisposeAsync();
            await Eventually.HoldsAsync(async () => (await GetJsonAsync(admin, "api/overview"))["workers"]!["offline"]!.GetValue<int>() == 1, "gone@test offline");
        }

        // A new dashboard on the same file hears nothing from it, and still lists it, offline, with its last heartbeat.
        await using var again = await DashboardHost.StartAsync(app, On(path));
        using var client = again.Client("admin", "right");
        var listed = Assert.Single((await GetJsonAsync(client, "api/workers"))["workers"]!.AsArray())!;
        Assert.Equal("gone@test", listed["node"]!.GetValue<string>());
        Assert.False(listed["online"]!.GetValue<bool>());
        Assert.NotNull(listed["last_heartbeat"]);
        Assert.NotNull(listed["offline_at"]);
        var overview = await GetJsonAsync(client, "api/overview");
        Assert.Equal(0, overview["workers"]!["online"]!.GetValue<int>());
        Assert.Equal(1, overview["workers"]!["offline"]!.GetValue<int>());
    }

    [Fact]
    public async Task Filters_search_sort_and_paging_work_through_the_API()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var fail = app.Task<int, int>("tasks.fail", int (int x) => throw new InvalidOperationException("needle-in-the-exception"));
        await using var worker = await TestApps.StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, On(_folder.NewFilePath("history.db")));
        using var admin = host.Client("admin", "right");
        await Eventually.HoldsAsync(async () => (await GetJsonAsync(admin, "api/overview"))["workers"]!["online"]!.GetValue<int>() == 1, "a@test online");

        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        await (await add.DelayAsync(1, 2)).GetAsync(Wait);
        await (await add.DelayAsync(3, 4)).GetAsync(Wait);
        var marked = await add.DelayAsync(4242, 1);
        await marked.GetAsync(Wait);
        var failed = await fail.DelayAsync(7);
        await Eventually.HoldsAsync(async () => await TotalAsync(admin, "?states=SUCCESS,FAILURE") == 4, "four finished tasks");
        var after = DateTimeOffset.UtcNow.AddMinutes(1);

        Assert.Equal(4, await TotalAsync(admin, ""));
        Assert.Equal(1, await TotalAsync(admin, "?states=FAILURE"));
        Assert.Equal(3, await TotalAsync(admin, "?states=success"));
        Assert.Equal(1, await TotalAsync(admin, "?state=FAILURE"));
        Assert.Equal(0, await TotalAsync(admin, "?states=STARTED,RECEIVED"));
        Assert.Equal(3, await TotalAsync(admin, "?name=tasks.add"));
        Assert.Equal(1, await TotalAsync(admin, "?name=tasks.fail&states=FAILURE"));
        Assert.Equal(4, await TotalAsync(admin, "?worker=a@test"));
        Assert.Equal(0, await TotalAsync(admin, "?worker=nobody@test"));
        Assert.Equal(4, await TotalAsync(admin, "?queue=celery"));
        Assert.Equal(0, await TotalAsync(admin, "?queue=other"));
        Assert.Equal(4, await TotalAsync(admin, $"?from={Uri.EscapeDataString(before.ToString("O"))}&to={Uri.EscapeDataString(after.ToString("O"))}"));
        Assert.Equal(0, await TotalAsync(admin, $"?from={Uri.EscapeDataString(after.ToString("O"))}"));
        Assert.Equal(0, await TotalAsync(admin, $"?to={Uri.EscapeDataString(before.ToString("O"))}"));

        Assert.Equal([marked.Id], Ids(await GetJsonAsync(admin, "api/tasks?search=4242")));
        Assert.Equal([failed.Id], Ids(await GetJsonAsync(admin, "api/tasks?search=NEEDLE-in-the")));
        Assert.Equal([failed.Id], Ids(await GetJsonAsync(admin, "api/tasks?search=" + failed.Id[..8])));

        var byName = (await GetJsonAsync(admin, "api/tasks?sort=name&desc=false"))["tasks"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["tasks.add", "tasks.add", "tasks.add", "tasks.fail"], byName);
        // The four tasks often share a millisecond: ties go to the order the history first heard of them.
        var newestFirst = Ids(await GetJsonAsync(admin, "api/tasks?sort=seen"));
        Assert.Equal(failed.Id, newestFirst[0]);
        var page = await GetJsonAsync(admin, "api/tasks?sort=seen&offset=1&limit=2");
        Assert.Equal(4, page["total"]!.GetValue<int>());
        Assert.Equal(newestFirst.Skip(1).Take(2), Ids(page));
        Assert.Equal(4, (await GetJsonAsync(admin, "api/tasks?sort=runtime&limit=1000"))["tasks"]!.AsArray().Count);

        // The worker's failures and the queue's rate come from the same history.
        var listed = Assert.Single((await GetJsonAsync(admin, "api/workers"))["workers"]!.AsArray())!;
        Assert.Equal(1, listed["failed"]!.GetValue<long>());
        var celery = (await GetJsonAsync(admin, "api/queues"))["queues"]!.AsArray().Single(q => q!["name"]!.GetValue<string>() == "celery")!;
        Assert.Equal(4 / 5.0, celery["per_minute"]!.GetValue<double>(), precision: 6);
    }

    [Theory]
    [InlineData("api/tasks?limit=0", "limit")]
    [InlineData("api/tasks?limit=1001", "limit")]
    [InlineData("api/tasks?limit=ten", "limit")]
    [InlineData("api/tasks?offset=-1", "offset")]
    [InlineData("api/tasks?sort=colour", "sort")]
    [InlineData("api/tasks?desc=maybe", "desc")]
    [InlineData("api/tasks?from=yesterday", "from")]
    [InlineData("api/tasks?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    [InlineData("api/tasks?states=SUCCESS,%3Cscript%3E", "states")]
    [InlineData("api/tasks?name=a&name=b", "name")]
    [InlineData("api/tasks?stat=SUCCESS", "stat")]
    [InlineData("api/overview?minutes=0", "minutes")]
    [InlineData("api/overview?minutes=100000", "minutes")]
    public async Task Bad_parameters_are_400_naming_the_parameter(string path, string parameter)
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        await using var host = await DashboardHost.StartAsync(app, On(_folder.NewFilePath("history.db")));
        using var admin = host.Client("admin", "right");
        using var response = await admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
        Assert.Contains(parameter, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_history_file_is_made_where_the_options_say_and_released_on_stop()
    {
        var path = _folder.NewFilePath("history.db");
        await using var app = TestApps.Create(taskSentEvents: true);
        var host = await DashboardHost.StartAsync(app, On(path));
        Assert.True(File.Exists(path));
        await host.DisposeAsync();
        // Disposed (and the pool cleared): nothing holds the file, so it can be moved away.
        File.Move(path, path + ".moved");
        Assert.True(File.Exists(path + ".moved"));
    }
}
