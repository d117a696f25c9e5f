using System.Text;
using System.Text.Json.Nodes;
using Fennel.Transport;
using Xunit.Abstractions;

namespace Fennel.Cli.Tests.Commands;

/// <summary><c>fennel dead-letters</c> on the embedded SQLite broker: what each action prints, does and exits with.</summary>
public sealed class DeadLettersCommandTests(TemporaryFolder folder, ITestOutputHelper output) : IClassFixture<TemporaryFolder>, IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private readonly string _broker = "sqlite:///" + folder.NewFilePath("fennel.db");
    private FennelApp _app = null!;

    public Task InitializeAsync()
    {
        _app = FennelApp.CreateBuilder(["-b", _broker, "-l", "warning"]).Build();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private IDeadLetterStore Store => (IDeadLetterStore)_app.Transport;

    /// <summary>`fennel dead-letters ARGS` against this test's broker file, as a separate tool invocation would run.</summary>
    private Task<CommandOutput> FennelAsync(params string[] args) => CommandLine.RunToolAsync(["dead-letters", .. args, "-b", _broker, "-l", "warning"]);

    /// <summary>Sends a task and dead-letters it, as a worker does with a task it does not know; returns the task id.</summary>
    private async Task<string> DeadLetterTaskAsync(string name, string reason, JsonArray? args = null)
    {
        var sent = await _app.Client.SendTaskAsync(name, args ?? [1, 2]);
        await DeadLetterNextAsync("celery", reason);
        return sent.Id;
    }

    private async Task DeadLetterNextAsync(string queue, string reason)
    {
        var delivery = Assert.Single(await _app.Transport.FetchAsync([queue], 1, Lease, TimeSpan.FromSeconds(5)));
        await _app.Transport.DeadLetterAsync(delivery, reason);
    }

    [Fact]
    public async Task List_says_so_when_there_are_none()
    {
        var run = await FennelAsync("list");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal("No dead letters.", run.Stdout.Trim());
    }

    [Fact]
    public async Task List_shows_each_dead_letter_newest_first_with_its_task_and_reason()
    {
        var add = await DeadLetterTaskAsync("tasks.add", "unknown task 'tasks.add'");
        await ((Fennel.Sqlite.SqliteTransport)_app.Transport).PublishStoredAsync("other", Encoding.UTF8.GetBytes("{not json"));
        await DeadLetterNextAsync("other", "malformed message: not JSON");

        var run = await FennelAsync("list");

        output.WriteLine(run.Stdout);
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        var lines = run.StdoutLines;
        Assert.Matches("^ID +QUEUE +DEAD-LETTERED +DELIVERIES +TASK +TASK ID +REASON$", lines[0]);
        Assert.Contains("other", lines[1], StringComparison.Ordinal); // the newest first
        Assert.Contains("malformed message: not JSON", lines[1], StringComparison.Ordinal);
        Assert.Contains("tasks.add", lines[2], StringComparison.Ordinal);
        Assert.Contains(add, lines[2], StringComparison.Ordinal);
        Assert.Contains("unknown task 'tasks.add'", lines[2], StringComparison.Ordinal);
        Assert.Equal("2 dead letter(s).", lines[^1]);
    }

    [Fact]
    public async Task List_with_a_limit_shows_the_newest_and_says_there_may_be_more()
    {
        for (var i = 0; i < 3; i++) await DeadLetterTaskAsync("tasks.add", $"reason {i}");

        var run = await FennelAsync("list", "--limit", "2");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Contains("reason 2", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("reason 1", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("reason 0", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("2 dead letters shown, newest first; --limit shows more.", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_json_prints_one_object_with_the_dashboard_apis_fields()
    {
        var id = await DeadLetterTaskAsync("tasks.add", "unknown task 'tasks.add'");

        var run = await FennelAsync("list", "--json");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        var letter = Assert.Single(JsonNode.Parse(run.Stdout)!["dead_letters"]!.AsArray())!.AsObject();
        Assert.Equal(["id", "queue", "reason", "dead_lettered_at", "delivery_count", "task_id", "task", "args", "kwargs", "size"], letter.Select(p => p.Key));
        Assert.Equal(id, (string?)letter["task_id"]);
        Assert.Equal("celery", (string?)letter["queue"]);
        Assert.Equal("(1, 2)", (string?)letter["args"]);
        Assert.True(DateTimeOffset.TryParse((string?)letter["dead_lettered_at"], System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task Show_prints_the_fields_and_the_message()
    {
        var taskId = await DeadLetterTaskAsync("tasks.add", "unknown task 'tasks.add'", [40, 2]);
        var letter = Assert.Single(await Store.ListDeadLettersAsync());

        var run = await FennelAsync("show", letter.Id);

        output.WriteLine(run.Stdout);
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Contains($"task id        {taskId}", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("args           (40, 2)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("reason         unknown task 'tasks.add'", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"message ({letter.Body.Length} bytes):", run.Stdout, StringComparison.Ordinal);
        Assert.Contains(Encoding.UTF8.GetString(letter.Body.Span), run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_hides_the_body_of_a_task_with_sensitive_arguments()
    {
        _app.Task<string, string, string>("tasks.login", (string user, string password) => user, new Fennel.Tasks.TaskOptions { SensitiveArguments = ["password"] });
        await _app.Client.SendTaskAsync("tasks.login", ["alice", "s3cret"]);
        await DeadLetterNextAsync("celery", "unknown task 'tasks.login'");
        var letter = Assert.Single(await Store.ListDeadLettersAsync());

        var run = await FennelAsync("show", letter.Id, "--json");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.DoesNotContain("s3cret", run.Stdout, StringComparison.Ordinal);
        var shown = JsonNode.Parse(run.Stdout)!;
        Assert.Null(shown["body"]);
        Assert.Contains("sensitive", (string?)shown["body_hidden"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_of_an_unknown_id_exits_1_with_one_error_line()
    {
        var run = await FennelAsync("show", "no-such-id");

        Assert.True(run.ExitCode == ExitCodes.Failed, run.ToString());
        Assert.StartsWith("error: no dead letter 'no-such-id'", Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requeue_puts_the_named_ones_back_on_their_queue_and_exits_1_for_a_missing_one()
    {
        await DeadLetterTaskAsync("tasks.add", "first");
        await DeadLetterTaskAsync("tasks.add", "second");
        var first = (await Store.ListDeadLettersAsync()).Single(l => l.Reason == "first");

        var run = await FennelAsync("requeue", first.Id);

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal("1 dead letter(s) requeued.", run.Stdout.Trim());
        Assert.Equal(1, await _app.Transport.GetQueueLengthAsync("celery"));
        Assert.Equal(["second"], (await Store.ListDeadLettersAsync()).Select(l => l.Reason));

        var again = await FennelAsync("requeue", first.Id);

        Assert.True(again.ExitCode == ExitCodes.Failed, again.ToString());
        Assert.Equal("0 dead letter(s) requeued.", again.Stdout.Trim());
        Assert.Contains($"'{first.Id}'", Assert.Single(again.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requeue_all_puts_every_one_back()
    {
        for (var i = 0; i < 3; i++) await DeadLetterTaskAsync("tasks.add", $"reason {i}");

        var run = await FennelAsync("requeue", "--all");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal("3 dead letter(s) requeued.", run.Stdout.Trim());
        Assert.Empty(await Store.ListDeadLettersAsync());
        Assert.Equal(3, await _app.Transport.GetQueueLengthAsync("celery"));
    }

    [Fact]
    public async Task Purge_with_force_deletes_them_all_and_without_it_asks_or_refuses()
    {
        for (var i = 0; i < 2; i++) await DeadLetterTaskAsync("tasks.add", $"reason {i}");

        // The test runner gives no terminal: nothing to ask, so it refuses (as 'purge' does) and deletes nothing.
        var refused = await FennelAsync("purge");
        Assert.True(refused.ExitCode == ExitCodes.Usage, refused.ToString());
        Assert.Contains("--force", Assert.Single(refused.StderrLines), StringComparison.Ordinal);
        Assert.Equal(2, (await Store.ListDeadLettersAsync()).Count);

        var run = await FennelAsync("purge", "--force");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal("2 dead letter(s) purged.", run.Stdout.Trim());
        Assert.Empty(await Store.ListDeadLettersAsync());
    }
}
