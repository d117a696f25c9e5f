using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Fennel.Dashboard.History;
using TestEvents = Fennel.Dashboard.Tests.History.Events;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.Dashboard.Tests.Api;

/// <summary>Queues (the list, purge) and re-sending a task from the history, over HTTP against real workers on the in-memory broker.</summary>
public sealed class ApiQueueAndResendTests : IClassFixture<TemporaryFolder>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private readonly TemporaryFolder _folder;

    public ApiQueueAndResendTests(TemporaryFolder folder) => _folder = folder;

    private static async Task<JsonObject?> QueueAsync(HttpClient client, string name) =>
        (await ApiDeadLetterTests.GetJsonAsync(client, "api/queues"))["queues"]!.AsArray().FirstOrDefault(q => q!["name"]!.GetValue<string>() == name)?.AsObject();

    /// <summary>The dashboard listens to events (log 8020 comes after it subscribed): what is sent from now on reaches the history.</summary>
    private static Task WatchingAsync(DashboardHost host) =>
        Eventually.HoldsAsync(() => host.Log.Records.Any(r => r.EventId == 8020), "the dashboard watching events", Wait);

    private static async Task<string?> StateAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync("api/tasks/" + id);
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!["task"]!["state"]!.GetValue<string>() : null;
    }

    [Fact]
    public async Task Queues_list_the_default_the_consumed_and_the_sent_to_with_dead_letters_and_one_purges()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        await using var worker = await TestApps.StartWorkerAsync(app, "q@test");
        await using var host = await DashboardHost.StartAsync(app, ApiDeadLetterTests.Users);
        using var admin = host.Client("admin", "right");
        using var viewer = host.Client("viewer", "look");
        await Eventually.HoldsAsync(async () => (await QueueAsync(viewer, "celery"))?["consumers"]!.AsArray().Count == 1, "celery consumed", Wait);
        await WatchingAsync(host);

        // Nobody consumes 'reports': it shows from the history's task-sent events, with its depth.
        await app.Client.SendTaskAsync("tasks.report", [1], null, new CallOptions { Queue = "reports" });
        await app.Client.SendTaskAsync("tasks.report", [2], null, new CallOptions { Queue = "reports" });
        await Eventually.HoldsAsync(async () => await QueueAsync(viewer, "reports") is { } q && q["messages"]!.GetValue<long>() == 2, "reports listed", Wait);
        var reports = (await QueueAsync(viewer, "reports"))!;
        Assert.Empty(reports["consumers"]!.AsArray());
        Assert.Equal(0, reports["dead_letters"]!.GetValue<long>());

        await ApiDeadLetterTests.PublishStoredAsync(app.Transport, "celery", "garbage"u8.ToArray());
        await Eventually.HoldsAsync(async () => (await QueueAsync(viewer, "celery"))!["dead_letters"]!.GetValue<long>() == 1, "a dead letter on celery", Wait);
        var celery = (await QueueAsync(viewer, "celery"))!;
        Assert.Equal("q@test", Assert.Single(celery["consumers"]!.AsArray())!.GetValue<string>());
        Assert.Equal(0, celery["messages"]!.GetValue<long>());

        await DashboardHost.UseAntiforgeryAsync(admin);
        var purged = await ApiDeadLetterTests.PostJsonAsync(admin, "api/queues/reports/purge", null);
        Assert.Equal("reports", purged["queue"]!.GetValue<string>());
        Assert.Equal(2, purged["purged"]!.GetValue<long>());
        Assert.Equal(0, await app.Transport.GetQueueLengthAsync("reports"));
        Assert.Equal(0, (await QueueAsync(viewer, "reports"))!["messages"]!.GetValue<long>());

        var audit = Assert.Single((await ApiDeadLetterTests.GetJsonAsync(viewer, "api/audit"))["records"]!.AsArray())!;
        Assert.Equal("purge queue", audit["action"]!.GetValue<string>());
        Assert.Equal("reports", Assert.Single(audit["targets"]!.AsArray())!.GetValue<string>());
        Assert.Equal("2 purged", audit["outcome"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_default_queue_is_listed_without_consumers_or_tasks()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        await using var host = await DashboardHost.StartAsync(app, ApiDeadLetterTests.Users);
        using var viewer = host.Client("viewer", "look");
        var celery = (await QueueAsync(viewer, "celery"))!;
        Assert.Empty(celery["consumers"]!.AsArray());
        Assert.Equal(0, celery["messages"]!.GetValue<long>());
        Assert.Equal(0, celery["dead_letters"]!.GetValue<long>());
    }

    [Fact]
    public async Task Resending_a_task_sends_a_new_one_with_the_same_name_arguments_and_queue_and_a_worker_runs_it()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        var calls = new ConcurrentQueue<string>();
        const string Nasty = "it's \"nasty\"\n\t\\ é😀 \u0001 ***";
        app.Task<string, double, string>("tasks.echo", (string text, double factor) =>
        {
            calls.Enqueue($"{text}|{factor}");
            return text;
        });
        await using var worker = await TestApps.StartWorkerAsync(app, "r@test");
        await using var host = await DashboardHost.StartAsync(app, ApiDeadLetterTests.Users);
        using var admin = host.Client("admin", "right");
        await WatchingAsync(host);

        var first = await app.Client.SendTaskAsync("tasks.echo", [Nasty], new JsonObject { ["factor"] = 1.5 });
        await Eventually.HoldsAsync(async () => await StateAsync(admin, first.Id) == "SUCCESS", "the first run in the history", Wait);

        await DashboardHost.UseAntiforgeryAsync(admin);
        var resent = await ApiDeadLetterTests.PostJsonAsync(admin, $"api/tasks/{first.Id}/resend", null);
        var id = resent["id"]!.GetValue<string>();
        Assert.NotEqual(first.Id, id);
        Assert.Equal("tasks.echo", resent["name"]!.GetValue<string>());
        Assert.Equal("celery", resent["queue"]!.GetValue<string>());
        await Eventually.HoldsAsync(async () => await StateAsync(admin, id) == "SUCCESS", "the re-sent run in the history", Wait);
        Assert.Equal(new[] { $"{Nasty}|1.5", $"{Nasty}|1.5" }, calls);
        var detail = await ApiDeadLetterTests.GetJsonAsync(admin, "api/tasks/" + id);
        var original = await ApiDeadLetterTests.GetJsonAsync(admin, "api/tasks/" + first.Id);
        Assert.Equal(original["task"]!["args"]!.GetValue<string>(), detail["task"]!["args"]!.GetValue<string>());
        Assert.Equal(original["task"]!["kwargs"]!.GetValue<string>(), detail["task"]!["kwargs"]!.GetValue<string>());

        var audit = Assert.Single((await ApiDeadLetterTests.GetJsonAsync(admin, "api/audit"))["records"]!.AsArray())!;
        Assert.Equal("resend", audit["action"]!.GetValue<string>());
        Assert.Equal(first.Id, Assert.Single(audit["targets"]!.AsArray())!.GetValue<string>());
        Assert.Equal("sent as " + id, audit["outcome"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("api/tasks/no-such-task/resend", null)).StatusCode);
    }

    [Fact]
    public async Task A_task_sent_to_another_queue_is_resent_to_that_queue()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        await using var host = await DashboardHost.StartAsync(app, ApiDeadLetterTests.Users);
        using var admin = host.Client("admin", "right");
        await WatchingAsync(host);
        var first = await app.Client.SendTaskAsync("tasks.report", [7, "x"], null, new CallOptions { Queue = "reports" });
        await Eventually.HoldsAsync(async () => await StateAsync(admin, first.Id) == "PENDING", "the task-sent in the history", Wait);
        await DashboardHost.UseAntiforgeryAsync(admin);
        var resent = await ApiDeadLetterTests.PostJsonAsync(admin, $"api/tasks/{first.Id}/resend", null);
        Assert.Equal("reports", resent["queue"]!.GetValue<string>());
        Assert.Equal(2, await app.Transport.GetQueueLengthAsync("reports"));
    }

    [Fact]
    public async Task A_task_whose_arguments_are_sensitive_is_not_resent_409()
    {
        await using var app = TestApps.Create(taskSentEvents: true);
        app.Task<string, string, string>("tasks.login", (string user, string password) => user, new TaskOptions { SensitiveArguments = ["password"] });
        await using var worker = await TestApps.StartWorkerAsync(app, "s@test");
        await using var host = await DashboardHost.StartAsync(app, ApiDeadLetterTests.Users);
        using var admin = host.Client("admin", "right");
        await WatchingAsync(host);
        var sent = await app.Client.SendTaskAsync("tasks.login", ["ann", "hunter2"]);
        await Eventually.HoldsAsync(async () => await StateAsync(admin, sent.Id) == "SUCCESS", "the task in the history", Wait);

        await DashboardHost.UseAntiforgeryAsync(admin);
        using var response = await admin.PostAsync($"api/tasks/{sent.Id}/resend", null);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
        Assert.Contains("'***'", error, StringComparison.Ordinal);
        Assert.Contains(sent.Id, error, StringComparison.Ordinal);
        Assert.Equal(0, await app.Transport.GetQueueLengthAsync("celery"));
        Assert.Empty((await ApiDeadLetterTests.GetJsonAsync(admin, "api/audit"))["records"]!.AsArray());
    }

    [Fact]
    public async Task Tasks_whose_arguments_or_name_the_history_cannot_rebuild_are_409_naming_why()
    {
        // A history written by Python clients: an object's repr, a truncated repr, a task seen only finishing.
        var path = _folder.NewFilePath("history.db");
        var now = DateTimeOffset.UtcNow;
        await using (var seed = await TaskHistoryStore.OpenAsync(new TaskHistoryOptions { Path = path }))
        {
            await seed.AppendAsync([
                TestEvents.Sent("with-object", now, args: "(<object object at 0x7f3a2c>,)"),
                TestEvents.Sent("cut-short", now, args: "('" + new string('a', 1100) + "...", kwargs: "{}"),
                TestEvents.Sent("with-datetime", now, args: "()", kwargs: "{'when': datetime.datetime(2026, 1, 1, 0, 0)}"),
                TestEvents.Succeeded("nameless", now),
            ]);
            await seed.FlushAsync();
        }
        await using var app = TestApps.Create(taskSentEvents: true);
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            ApiDeadLetterTests.Users(o);
            o.History.Path = path;
        });
        using var admin = host.Client("admin", "right");
        await DashboardHost.UseAntiforgeryAsync(admin);
        foreach (var (id, why) in new[]
        {
            ("with-object", "an object's repr"), ("cut-short", "cut short"), ("with-datetime", "'datetime.datetime' is not a literal"),
            ("nameless", "does not know its name"),
        })
        {
            using var response = await admin.PostAsync($"api/tasks/{id}/resend", null);
            Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"{id}: {response.StatusCode}");
            Assert.Contains(why, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        Assert.Equal(0, await app.Transport.GetQueueLengthAsync("celery"));
    }
}
