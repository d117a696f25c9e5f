using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Fennel.Transport;
using Microsoft.Playwright;

using static Microsoft.Playwright.Assertions;

namespace Fennel.Dashboard.Tests.Browser;

/// <summary>
/// The dashboard's pages in a real browser (headless Chromium through Playwright) against in-process workers on the
/// in-memory broker and a dashboard on Kestrel on loopback.
/// </summary>
public sealed partial class DashboardPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = 30_000;

    static DashboardPageTests() => SetDefaultExpectTimeout(Timeout);

    private static void Users(FennelDashboardOptions o)
    {
        o.Users.Add(FennelDashboardUser.Parse("admin:right"));
        o.Users.Add(FennelDashboardUser.Parse("viewer:look", readOnly: true));
    }

    private static async Task<Worker.Worker> StartWorkerAsync(FennelApp app, string name)
    {
        var worker = app.CreateWorker(o =>
        {
            o.NodeName = name;
            o.TaskEvents = true;
        });
        await worker.StartAsync();
        return worker;
    }

    [Fact]
    public async Task Two_of_three_workers_ticked_and_warm_shut_down_go_offline_while_the_third_keeps_running_tasks()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var a = await StartWorkerAsync(app, "a@test");
        await using var b = await StartWorkerAsync(app, "b@test");
        await using var c = await StartWorkerAsync(app, "c@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;

        await page.GotoAsync(host.Address + "#/workers");
        await Expect(page.GetByTestId("user")).ToHaveTextAsync("admin");
        await Expect(page.GetByTestId("worker-row")).ToHaveCountAsync(3);
        foreach (var node in new[] { "a@test", "b@test", "c@test" }) await Expect(Status(page, node)).ToHaveTextAsync("online");
        await Expect(page.GetByTestId("action-shutdown")).ToBeDisabledAsync();

        await Row(page, "a@test").GetByTestId("worker-select").CheckAsync();
        await Row(page, "b@test").GetByTestId("worker-select").CheckAsync();
        await Expect(page.GetByTestId("selected-count")).ToHaveTextAsync("2 selected");
        await page.GetByTestId("action-shutdown").ClickAsync();

        var dialog = page.GetByTestId("confirm-dialog");
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog.GetByTestId("confirm-title")).ToHaveTextAsync("Warm shutdown of 2 workers");
        await Expect(dialog.GetByTestId("confirm-target")).ToHaveTextAsync(["a@test", "b@test"]);
        Assert.False(a.Completion.IsCompleted, "Nothing may be sent before the confirmation.");
        await dialog.GetByTestId("confirm-ok").ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();

        var results = page.GetByTestId("action-result");
        await Expect(results).ToHaveCountAsync(2);
        await Expect(page.Locator("[data-testid=action-result][data-status=sent]")).ToHaveCountAsync(2);
        await a.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        await b.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        await Expect(Status(page, "a@test")).ToHaveTextAsync("offline");
        await Expect(Status(page, "b@test")).ToHaveTextAsync("offline");
        await Expect(Status(page, "c@test")).ToHaveTextAsync("online");
        Assert.False(c.Completion.IsCompleted);

        // The third keeps running tasks: they complete, and its processed count in the table grows past them.
        var before = await ProcessedAsync(page, "c@test");
        for (var i = 0; i < 5; i++) Assert.Equal(i + 1, await (await add.DelayAsync(i, 1)).GetAsync(TimeSpan.FromSeconds(30)));
        await Eventually.HoldsAsync(async () => await ProcessedAsync(page, "c@test") >= before + 5, "c@test's processed count to grow by 5 in the table",
            TimeSpan.FromSeconds(30));
        await Expect(Status(page, "c@test")).ToHaveTextAsync("online");
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task A_failed_task_opened_from_the_tasks_list_shows_its_traceback()
    {
        await using var app = TestApps.Create();
        var fail = app.Task<int, int>("tasks.fail", int (int x) => throw new InvalidOperationException($"boom {x}"));
        await using var worker = await StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        var failed = await fail.DelayAsync(7);
        await Assert.ThrowsAnyAsync<Exception>(() => failed.GetAsync(TimeSpan.FromSeconds(30)));
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;

        await page.GotoAsync(host.Address + "#/tasks");
        var row = page.Locator($"[data-testid=task-row][data-id='{failed.Id}']");
        await Expect(row).ToHaveAttributeAsync("data-state", "FAILURE");
        await row.GetByTestId("task-link").ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex($"#/tasks/{failed.Id}$"));
        await Expect(page.GetByTestId("task-name")).ToHaveTextAsync("tasks.fail");
        await Expect(page.GetByTestId("task-detail").GetByTestId("state")).ToHaveTextAsync("FAILURE");
        await Expect(page.GetByTestId("task-exception")).ToContainTextAsync("boom 7");
        await Expect(page.GetByTestId("task-traceback")).ToContainTextAsync("InvalidOperationException");
        await Expect(page.GetByTestId("task-args")).ToHaveTextAsync("(7,)");
        await Expect(page.GetByTestId("timeline-row").Filter(new() { HasText = "task-failed" })).ToHaveCountAsync(1);

        // Re-sent as a new task, after a confirmation naming this one; the new one links to its own page.
        await page.GetByTestId("task-resend").ClickAsync();
        await Expect(page.GetByTestId("confirm-target")).ToHaveTextAsync([failed.Id]);
        await page.GetByTestId("confirm-ok").ClickAsync();
        var sentAgain = page.GetByTestId("task-action-ok").GetByTestId("task-link");
        await Expect(sentAgain).ToBeVisibleAsync();
        var newId = await sentAgain.TextContentAsync();
        Assert.NotEqual(failed.Id, newId);
        await sentAgain.ClickAsync();
        await Expect(page.GetByTestId("task-args")).ToHaveTextAsync("(7,)");
        await Expect(page.GetByTestId("task-detail").GetByTestId("state")).ToHaveTextAsync("FAILURE");
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task A_queue_is_purged_from_the_queues_page_after_a_confirmation()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        for (var i = 0; i < 3; i++) await add.DelayAsync(i, i); // no worker: they wait in the queue
        await using var host = await DashboardHost.StartAsync(app, Users);
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;

        await page.GotoAsync(host.Address + "#/queues");
        var celery = page.Locator("[data-testid=queue-row][data-queue=celery]");
        await Expect(celery.GetByTestId("queue-messages")).ToHaveTextAsync("3");
        await celery.GetByTestId("queue-purge").ClickAsync();
        await Expect(page.GetByTestId("confirm-title")).ToHaveTextAsync("Purge queue celery");
        await Expect(page.GetByTestId("confirm-target")).ToHaveTextAsync(["celery"]);
        await page.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.GetByTestId("queue-purged")).ToHaveTextAsync("Purged 3 message(s) from celery.");
        await Expect(celery.GetByTestId("queue-messages")).ToHaveTextAsync("0");
        Assert.Equal(0, await app.Transport.GetQueueLengthAsync("celery"));
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task Tasks_filtered_by_state_name_and_search_list_only_the_matching_rows_and_sort_by_name()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var mul = app.Task<int, int, int>("tasks.mul", (int x, int y) => x * y);
        var fail = app.Task<int, int>("tasks.fail", int (int x) => throw new InvalidOperationException("no"));
        await using var worker = await StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        for (var i = 0; i < 3; i++) await (await add.DelayAsync(i, 1)).GetAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 2; i++) await (await mul.DelayAsync(i, 2)).GetAsync(TimeSpan.FromSeconds(30));
        var failed = await fail.DelayAsync(1);
        await Assert.ThrowsAnyAsync<Exception>(() => failed.GetAsync(TimeSpan.FromSeconds(30)));
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;
        var rows = page.GetByTestId("task-row");

        await page.GotoAsync(host.Address + "#/tasks");
        await Expect(rows).ToHaveCountAsync(6);

        await page.GetByTestId("filter-state").SelectOptionAsync("FAILURE");
        await Expect(page).ToHaveURLAsync(new Regex("#/tasks\\?states=FAILURE$"));
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows).ToHaveAttributeAsync("data-id", failed.Id);
        await Expect(page.GetByTestId("tasks-count")).ToHaveTextAsync("1–1 of 1");

        await page.GetByTestId("filter-clear").ClickAsync();
        await Expect(rows).ToHaveCountAsync(6);
        await page.GetByTestId("filter-name").FillAsync("tasks.add");
        await page.GetByTestId("filter-apply").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/tasks\\?name=tasks.add$"));
        await Expect(rows).ToHaveCountAsync(3);
        await Expect(rows.GetByTestId("task-name")).ToHaveTextAsync(["tasks.add", "tasks.add", "tasks.add"]);

        // Both at once, from a link: the filters live in the URL.
        await page.GotoAsync(host.Address + "#/tasks?states=SUCCESS&name=tasks.mul");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.GetByTestId("task-name")).ToHaveTextAsync(["tasks.mul", "tasks.mul"]);
        await Expect(page.GetByTestId("filter-state")).ToHaveValueAsync("SUCCESS");
        await Expect(page.GetByTestId("filter-name")).ToHaveValueAsync("tasks.mul");

        // Search (in the arguments here) narrows further; the other filters stay.
        await page.GetByTestId("filter-search").FillAsync("(1, 2)");
        await page.GetByTestId("filter-search").PressAsync("Enter");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(page).ToHaveURLAsync(new Regex("states=SUCCESS&name=tasks.mul&search="));

        // Sorting by name, descending then ascending, on the server.
        await page.GotoAsync(host.Address + "#/tasks");
        await Expect(rows).ToHaveCountAsync(6);
        await page.GetByTestId("sort-name").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("sort=name&desc=true$"));
        await Expect(rows.GetByTestId("task-name")).ToHaveTextAsync(["tasks.mul", "tasks.mul", "tasks.fail", "tasks.add", "tasks.add", "tasks.add"]);
        await page.GetByTestId("sort-name").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("sort=name&desc=false$"));
        await Expect(rows.GetByTestId("task-name")).ToHaveTextAsync(["tasks.add", "tasks.add", "tasks.add", "tasks.fail", "tasks.mul", "tasks.mul"]);
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task A_dead_lettered_message_is_listed_and_requeued_from_the_page()
    {
        await using var app = TestApps.Create();
        var worker = await StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        var sent = await app.Client.SendTaskAsync("tasks.nobody_knows", new JsonArray(1, 2));
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;

        var store = Assert.IsAssignableFrom<IDeadLetterStore>(app.Transport);
        await page.GotoAsync(host.Address + "#/dead-letters");
        await Expect(page.GetByTestId("dl-empty").Or(page.GetByTestId("dl-table"))).ToBeVisibleAsync();
        // The worker dead-letters the unknown task within moments; the page shows it when refreshed.
        await Eventually.HoldsAsync(async () => (await store.ListDeadLettersAsync()).Count == 1, "the worker to dead-letter the unknown task");
        await page.GetByTestId("dl-refresh").ClickAsync();
        var row = page.GetByTestId("dl-row");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.GetByTestId("dl-reason")).ToContainTextAsync("unknown task 'tasks.nobody_knows'");
        await Expect(row).ToContainTextAsync(sent.Id[..8]);

        // Stop the worker, so the requeued message waits in its queue instead of being dead-lettered again.
        await worker.DisposeAsync();
        await row.GetByTestId("dl-inspect").ClickAsync();
        await Expect(page.GetByTestId("dl-body")).ToContainTextAsync(sent.Id);

        await row.GetByTestId("dl-requeue").ClickAsync();
        var dialog = page.GetByTestId("confirm-dialog");
        await Expect(dialog.GetByTestId("confirm-target")).ToContainTextAsync(sent.Id);
        await dialog.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.GetByTestId("dl-requeued")).ToHaveTextAsync("Requeued 1.");
        await Expect(page.GetByTestId("dl-empty")).ToBeVisibleAsync();
        Assert.Equal(1, await app.Transport.GetQueueLengthAsync("celery"));
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task A_task_named_like_a_script_tag_is_shown_as_text()
    {
        const string Evil = "<script>alert(1)</script>";
        const string EvilError = "<img src=x onerror=alert(2)>";
        await using var app = TestApps.Create();
        var evil = app.Task<int, int>(Evil, int (int x) => throw new InvalidOperationException(EvilError));
        await using var worker = await StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        var failed = await evil.DelayAsync(1);
        await Assert.ThrowsAnyAsync<Exception>(() => failed.GetAsync(TimeSpan.FromSeconds(30)));
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;
        var dialogs = 0;
        page.Dialog += (_, dialog) =>
        {
            Interlocked.Increment(ref dialogs);
            _ = dialog.DismissAsync();
        };

        await page.GotoAsync(host.Address + "#/tasks");
        await Expect(page.GetByTestId("task-name").GetByText(Evil, new() { Exact = true })).ToBeVisibleAsync();
        await page.GetByTestId("task-link").First.ClickAsync();
        await Expect(page.GetByTestId("task-name")).ToHaveTextAsync(Evil);
        await Expect(page.GetByTestId("task-exception")).ToContainTextAsync(EvilError);

        // Text, not markup: the page holds only its own script and no image at all.
        Assert.Equal(1, await page.Locator("script").CountAsync());
        Assert.Equal(0, await page.Locator("img").CountAsync());
        Assert.Equal(0, dialogs);
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task The_worker_page_shows_the_pool_queues_running_and_registered_tasks_and_grows_the_pool_of_that_node_alone()
    {
        await using var app = TestApps.Create();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var wait = app.Task<int, int>("tasks.wait", async (int n) =>
        {
            await gate.Task;
            return n;
        });
        await using var a = await StartWorkerAsync(app, "a@test");
        // b consumes another queue, so the task sent below runs on a.
        await using var b = app.CreateWorker(o =>
        {
            o.NodeName = "b@test";
            o.TaskEvents = true;
            o.Queues = ["other"];
        });
        await b.StartAsync();
        await using var host = await DashboardHost.StartAsync(app, Users);
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;

        await page.GotoAsync(host.Address + "#/workers");
        await Row(page, "a@test").GetByTestId("worker-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/workers/a%40test$"));
        await Expect(page.GetByTestId("worker-title")).ToContainTextAsync("a@test");
        await Expect(page.GetByTestId("worker-status")).ToContainTextAsync("online");
        await Expect(page.Locator("[data-testid=worker-pool] dd[data-fact=Concurrency]")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("worker-queues")).ToContainTextAsync("celery");
        await Expect(page.GetByTestId("worker-registered")).ToContainTextAsync("tasks.wait");

        // A task it runs shows among its active ones (the page asks again when the history changes).
        var running = await wait.DelayAsync(1);
        await Expect(page.GetByTestId("worker-active-row").Filter(new() { HasText = running.Id })).ToHaveCountAsync(1);

        await page.GetByTestId("action-n").FillAsync("3");
        await page.GetByTestId("action-pool_grow").ClickAsync();
        var dialog = page.GetByTestId("confirm-dialog");
        await Expect(dialog.GetByTestId("confirm-title")).ToHaveTextAsync("Grow the pool (n = 3) of 1 worker");
        await Expect(dialog.GetByTestId("confirm-target")).ToHaveTextAsync(["a@test"]);
        await dialog.GetByTestId("confirm-ok").ClickAsync();
        await Expect(page.Locator("[data-testid=action-result][data-node='a@test'][data-status=ok]")).ToHaveCountAsync(1);
        Assert.Equal(5, a.Concurrency);
        Assert.Equal(2, b.Concurrency);
        gate.SetResult();
        Assert.Equal(1, await running.GetAsync(TimeSpan.FromSeconds(30)));
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task Without_the_live_stream_the_pages_poll_and_still_follow_the_workers()
    {
        await using var app = TestApps.Create();
        await using var a = await StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;
        await page.RouteAsync("**/api/live", route => route.FulfillAsync(new RouteFulfillOptions { Status = 404, ContentType = "application/json", Body = "{\"error\":\"Not found.\"}" }));

        await page.GotoAsync(host.Address + "#/workers");
        await Expect(page.GetByTestId("live-status")).ToHaveTextAsync("polling");
        await Expect(Status(page, "a@test")).ToHaveTextAsync("online");
        await using var b = await StartWorkerAsync(app, "b@test");
        await Expect(Status(page, "b@test")).ToHaveTextAsync("online");
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task A_read_only_user_sees_everything_with_the_actions_disabled()
    {
        await using var app = TestApps.Create();
        await using var worker = await StartWorkerAsync(app, "a@test");
        await using var host = await DashboardHost.StartAsync(app, Users);
        await using var session = await BrowserSession.OpenAsync(browser, host, "viewer", "look");
        var page = session.Page;

        await page.GotoAsync(host.Address + "#/workers");
        await Expect(page.GetByTestId("user")).ToHaveTextAsync("viewer (read-only)");
        await Expect(Status(page, "a@test")).ToHaveTextAsync("online");
        await Row(page, "a@test").GetByTestId("worker-select").CheckAsync();
        await Expect(page.GetByTestId("read-only-note")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("action-shutdown")).ToBeDisabledAsync();
        await Expect(page.GetByTestId("action-pool_grow")).ToBeDisabledAsync();
        session.AssertNoPageErrors();
    }

    [Fact]
    public async Task Screenshots_of_the_overview_the_workers_page_and_a_task_page_are_written_as_artifacts()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var fail = app.Task<int, int>("tasks.fail", int (int x) => throw new InvalidOperationException($"boom {x}"));
        await using var a = await StartWorkerAsync(app, "alpha@web1");
        await using var b = await StartWorkerAsync(app, "beta@web2");
        await using var c = await StartWorkerAsync(app, "gamma@web3");
        await using var host = await DashboardHost.StartAsync(app, Users);
        for (var i = 0; i < 12; i++) await (await add.DelayAsync(i, i)).GetAsync(TimeSpan.FromSeconds(30));
        var failed = await fail.DelayAsync(3);
        await Assert.ThrowsAnyAsync<Exception>(() => failed.GetAsync(TimeSpan.FromSeconds(30)));
        await using var session = await BrowserSession.OpenAsync(browser, host, "admin", "right");
        var page = session.Page;

        await page.GotoAsync(host.Address + "#/");
        await Expect(page.GetByTestId("ov-online")).ToHaveTextAsync("3");
        await Expect(page.GetByTestId("ov-state-failure")).ToHaveTextAsync("1");
        await Expect(page.GetByTestId("ov-state-success")).ToHaveTextAsync("12");
        await Expect(page.GetByTestId("ov-queues-table")).ToContainTextAsync("celery");
        var overview = await session.ScreenshotAsync("dashboard-overview.png");

        await page.GetByTestId("nav-workers").ClickAsync();
        await Expect(page.GetByTestId("worker-row")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("worker-pool").First).Not.ToHaveTextAsync("…");
        await Row(page, "alpha@web1").GetByTestId("worker-select").CheckAsync();
        var workers = await session.ScreenshotAsync("dashboard-workers.png");

        await page.GotoAsync(host.Address + $"#/tasks/{failed.Id}");
        await Expect(page.GetByTestId("task-traceback")).ToBeVisibleAsync();
        var task = await session.ScreenshotAsync("dashboard-task.png");

        foreach (var file in new[] { overview, workers, task }) Assert.True(new FileInfo(file).Length > 10_000, $"{file} is too small to be a screenshot.");
        session.AssertNoPageErrors();
    }

    private static ILocator Row(IPage page, string node) => page.Locator($"[data-testid=worker-row][data-node='{node}']");

    private static ILocator Status(IPage page, string node) => Row(page, node).GetByTestId("worker-status");

    private static async Task<long> ProcessedAsync(IPage page, string node) =>
        long.TryParse(await Row(page, node).GetByTestId("worker-processed").TextContentAsync(), out var n) ? n : 0;
}
