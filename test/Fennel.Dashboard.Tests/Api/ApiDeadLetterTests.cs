using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Fennel.Transport;
using Fennel.Transport.Memory;

namespace Fennel.Dashboard.Tests.Api;

/// <summary>
/// Dead letters over HTTP: a real worker dead-letters a malformed message, one that is not UTF-8 and a task it does not know;
/// the dashboard lists and shows them, requeues them onto their queue (where a worker takes them again) and purges them.
/// On the in-memory broker and on the embedded SQLite broker in a real file.
/// </summary>
public sealed class ApiDeadLetterTests : IClassFixture<TemporaryFolder>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private readonly TemporaryFolder _folder;

    public ApiDeadLetterTests(TemporaryFolder folder) => _folder = folder;

    internal static void Users(FennelDashboardOptions o)
    {
        o.Users.Add(FennelDashboardUser.Parse("admin:right"));
        o.Users.Add(FennelDashboardUser.Parse("viewer:look", readOnly: true));
    }

    internal static async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    internal static async Task<JsonNode> PostJsonAsync(HttpClient client, string path, object? body)
    {
        using var response = body is null ? await client.PostAsync(path, null) : await client.PostAsJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static async Task<JsonArray> DeadLettersAsync(HttpClient client) => (await GetJsonAsync(client, "api/dead-letters"))["dead_letters"]!.AsArray();

    [Fact]
    public Task Dead_letters_on_the_memory_broker_are_listed_shown_requeued_to_a_worker_and_purged() =>
        ExerciseAsync("memory://" + Guid.NewGuid().ToString("N"));

    [Fact]
    public Task Dead_letters_on_the_SQLite_broker_in_a_file_are_listed_shown_requeued_to_a_worker_and_purged()
    {
        var path = _folder.NewFilePath("history.db").Replace("history.db", "broker.db", StringComparison.Ordinal);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return ExerciseAsync("sqlite:///" + path);
    }

    /// <summary>Puts bytes on the broker as a foreign producer would (Fennel's own producers only publish envelopes).</summary>
    internal static Task PublishStoredAsync(ITransport transport, string queue, byte[] stored) => transport switch
    {
        InMemoryTransport memory => memory.PublishStoredAsync(queue, stored),
        Fennel.Sqlite.SqliteTransport sqlite => sqlite.PublishStoredAsync(queue, stored),
        _ => throw new NotSupportedException($"No raw publish for {transport.GetType().Name} in this test."),
    };

    private static async Task ExerciseAsync(string brokerUrl)
    {
        await using var app = TestApps.Create(brokerUrl: brokerUrl);
        await using var worker = app.CreateWorker(o => o.NodeName = "dl@test");
        await worker.StartAsync();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        using var viewer = host.Client("viewer", "look");

        // Three messages the worker cannot run: not a message at all, not even UTF-8, and a task it does not know.
        byte[] notUtf8 = [0xff, 0xfe, 0x00, 0x41];
        await PublishStoredAsync(app.Transport, "celery", "not a message"u8.ToArray());
        await PublishStoredAsync(app.Transport, "celery", notUtf8);
        var later = await app.Client.SendTaskAsync("tasks.later", [2, 3], new JsonObject { ["label"] = "it's \"quoted\"" });
        await Eventually.HoldsAsync(async () => (await DeadLettersAsync(viewer)).Count == 3, "three dead letters", Wait);

        var listed = await GetJsonAsync(viewer, "api/dead-letters?limit=10");
        Assert.True(listed["supported"]!.GetValue<bool>());
        var letters = listed["dead_letters"]!.AsArray().Select(l => l!.AsObject()).ToList();
        Assert.All(letters, l => Assert.Equal("celery", l["queue"]!.GetValue<string>()));
        var unknown = Assert.Single(letters, l => l["task_id"] is not null);
        Assert.Equal(later.Id, unknown["task_id"]!.GetValue<string>());
        Assert.Equal("tasks.later", unknown["task"]!.GetValue<string>());
        Assert.Equal("(2, 3)", unknown["args"]!.GetValue<string>());
        Assert.Equal("{'label': 'it\\'s \"quoted\"'}", unknown["kwargs"]!.GetValue<string>());
        Assert.Contains("unknown task 'tasks.later'", unknown["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, unknown["delivery_count"]!.GetValue<int>());
        Assert.NotNull(unknown["dead_lettered_at"]);
        var malformed = letters.Where(l => l["task_id"] is null).ToList();
        Assert.Equal(2, malformed.Count);
        Assert.All(malformed, l =>
        {
            // Listed all the same, the task's fields present and null.
            Assert.StartsWith("malformed message", l["reason"]!.GetValue<string>(), StringComparison.Ordinal);
            foreach (var field in new[] { "task_id", "task", "args", "kwargs" }) Assert.True(l.ContainsKey(field) && l[field] is null, field);
        });
        Assert.Contains(malformed, l => l["size"]!.GetValue<int>() == notUtf8.Length);

        // One in full: the envelope as text with its headers; the one that is not UTF-8 as base64.
        var detail = await GetJsonAsync(viewer, "api/dead-letters/" + unknown["id"]!.GetValue<string>());
        Assert.Equal("tasks.later", detail["headers"]!["task"]!.GetValue<string>());
        Assert.Equal(later.Id, JsonNode.Parse(detail["body"]!.GetValue<string>())!["headers"]!["id"]!.GetValue<string>());
        Assert.Null(detail["body_encoding"]);
        var binaryId = malformed.Single(l => l["size"]!.GetValue<int>() == notUtf8.Length)["id"]!.GetValue<string>();
        var binary = await GetJsonAsync(viewer, "api/dead-letters/" + binaryId);
        Assert.Equal("base64", binary["body_encoding"]!.GetValue<string>());
        Assert.Equal(notUtf8, Convert.FromBase64String(binary["body"]!.GetValue<string>()));
        Assert.True(binary.AsObject().ContainsKey("headers") && binary["headers"] is null);
        var textId = malformed.Single(l => l["id"]!.GetValue<string>() != binaryId)["id"]!.GetValue<string>();
        Assert.Equal("not a message", (await GetJsonAsync(viewer, "api/dead-letters/" + textId))["body"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("api/dead-letters/no-such-letter")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await viewer.GetAsync("api/dead-letters?limit=0")).StatusCode);

        // The task becomes known; requeued, it goes back on its queue and the worker runs it.
        var ran = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Task<int, int, string, string>("tasks.later", (int x, int y, string label) =>
        {
            ran.TrySetResult($"{x + y} {label}");
            return label;
        });
        await DashboardHost.UseAntiforgeryAsync(admin);
        var requeued = await PostJsonAsync(admin, "api/dead-letters/requeue", new { ids = new[] { unknown["id"]!.GetValue<string>(), "no-such-letter" } });
        Assert.Equal(1, requeued["requeued"]!.GetValue<int>());
        Assert.Equal("no-such-letter", Assert.Single(requeued["missing"]!.AsArray())!.GetValue<string>());
        Assert.Equal("5 it's \"quoted\"", await ran.Task.WaitAsync(Wait));
        Assert.Equal(2, (await DeadLettersAsync(viewer)).Count);

        // All: both go back on the queue, the worker refuses them again, and they are dead letters anew (new ids).
        var all = await PostJsonAsync(admin, "api/dead-letters/requeue", new { all = true });
        Assert.Equal(2, all["requeued"]!.GetValue<int>());
        Assert.Empty(all["missing"]!.AsArray());
        var before = malformed.Select(l => l["id"]!.GetValue<string>()).ToHashSet();
        await Eventually.HoldsAsync(async () => (await DeadLettersAsync(viewer)) is { Count: 2 } again &&
            again.All(l => !before.Contains(l!["id"]!.GetValue<string>())), "the two refused again", Wait);

        Assert.Equal(2, (await PostJsonAsync(admin, "api/dead-letters/purge", null))["purged"]!.GetValue<long>());
        Assert.Empty(await DeadLettersAsync(viewer));
        Assert.Equal(0, (await PostJsonAsync(admin, "api/dead-letters/requeue", new { all = true }))["requeued"]!.GetValue<int>());

        var audit = (await GetJsonAsync(viewer, "api/audit"))["records"]!.AsArray();
        Assert.Equal(["requeue dead letters", "purge dead letters", "requeue dead letters", "requeue dead letters"],
            audit.Select(r => r!["action"]!.GetValue<string>()));
        Assert.All(audit, r => Assert.Equal("admin", r!["user"]!.GetValue<string>()));
        Assert.Equal([unknown["id"]!.GetValue<string>(), "no-such-letter"], audit[3]!["targets"]!.AsArray().Select(t => t!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal("1 requeued, 1 missing", audit[3]!["outcome"]!.GetValue<string>());
        Assert.Equal("2 purged", audit[1]!["outcome"]!.GetValue<string>());
        Assert.Equal(4, host.Log.Records.Count(r => r.EventId == 8000));
    }

    [Fact]
    public async Task A_dead_letter_with_sensitive_arguments_shows_its_reprs_but_not_its_body()
    {
        await using var app = TestApps.Create(brokerUrl: "memory://" + Guid.NewGuid().ToString("N"));
        app.Task<string, string, string>("tasks.login", (string user, string password) => user,
            new Fennel.Tasks.TaskOptions { SensitiveArguments = ["password"] });
        await using var worker = app.CreateWorker(o => o.NodeName = "dl@test");
        await worker.StartAsync();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var viewer = host.Client("viewer", "look");

        // One argument too many: the worker dead-letters it (bad arguments) with the password inside.
        await app.Client.SendTaskAsync("tasks.login", ["ann", "hunter2", "extra"]);
        await Eventually.HoldsAsync(async () => (await DeadLettersAsync(viewer)).Count == 1, "the dead letter", Wait);
        var listed = Assert.Single(await DeadLettersAsync(viewer))!;
        Assert.Contains("'***'", listed["args"]!.GetValue<string>(), StringComparison.Ordinal);
        using var raw = await viewer.GetAsync("api/dead-letters/" + listed["id"]!.GetValue<string>());
        var text = await raw.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        var detail = JsonNode.Parse(text)!;
        Assert.True(detail.AsObject().ContainsKey("body") && detail["body"] is null);
        Assert.Contains("sensitive", detail["body_hidden"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("tasks.login", detail["headers"]!["task"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_broker_that_cannot_be_reached_is_502_with_its_message_not_a_bare_500()
    {
        // Nothing listens on port 1: every call to the broker fails with Fennel's error.
        await using var app = TestApps.Create(brokerUrl: "redis://127.0.0.1:1/0");
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        using var response = await admin.GetAsync("api/dead-letters");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.StartsWith("The broker failed: ", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(host.Log.Records, r => r.EventId == 8031);
    }

    [Fact]
    public async Task Requeue_wants_ids_or_all_and_names_what_is_wrong()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        await DashboardHost.UseAntiforgeryAsync(admin);
        foreach (var body in new object[] { new { }, new { all = true, ids = new[] { "x" } }, new { ids = Array.Empty<string>() } })
        {
            using var response = await admin.PostAsJsonAsync("api/dead-letters/requeue", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("\"ids\"", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        using var notJson = await admin.PostAsync("api/dead-letters/requeue", new StringContent("{", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.DoesNotContain(host.Log.Records, r => r.EventId == 8000);
    }
}
