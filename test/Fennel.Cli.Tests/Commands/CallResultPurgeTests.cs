namespace Fennel.Cli.Tests.Commands;

/// <summary><c>call</c>, <c>result</c> and <c>purge</c> on the embedded SQLite broker, with no worker: what they print and exit with.</summary>
public sealed class CallResultPurgeTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    private readonly string _broker = "sqlite:///" + folder.NewFilePath("fennel.db");

    private Task<CommandOutput> FennelAsync(params string[] args) => CommandLine.RunToolAsync([.. args, "-b", _broker, "-l", "warning"]);

    [Fact]
    public async Task Call_prints_the_task_id_and_result_prints_pending_until_a_worker_ran_it()
    {
        var id = Guid.NewGuid().ToString();

        var call = await FennelAsync("call", "tasks.add", "--args", "[2, 3]", "--task-id", id);
        var result = await FennelAsync("result", id);

        Assert.True(call.ExitCode == ExitCodes.Ok, call.ToString());
        Assert.Equal(id, call.Stdout.Trim());
        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Equal("PENDING", result.Stdout.Trim());
    }

    [Fact]
    public async Task Call_with_wait_and_no_worker_exits_75_with_one_error_line()
    {
        var call = await FennelAsync("call", "tasks.add", "--args", "[1, 1]", "--wait", "--timeout", "0.3");

        Assert.True(call.ExitCode == ExitCodes.TimedOut, call.ToString());
        Assert.Contains(call.StderrLines, l => l.StartsWith("error:", StringComparison.Ordinal) && l.Contains("did not finish", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Call_with_arguments_that_are_not_json_exits_64()
    {
        var call = await FennelAsync("call", "tasks.add", "--args", "[1,");

        Assert.True(call.ExitCode == ExitCodes.Usage, call.ToString());
        Assert.StartsWith("error:", Assert.Single(call.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_with_force_prints_what_it_deleted_per_queue_and_without_it_refuses()
    {
        for (var i = 0; i < 3; i++) await FennelAsync("call", "tasks.add", "--args", "[1, 1]");
        await FennelAsync("call", "tasks.add", "--args", "[1, 1]", "--queue", "other");

        var refused = await FennelAsync("purge");
        var purge = await FennelAsync("purge", "-Q", "celery,other", "--force");

        Assert.True(refused.ExitCode == ExitCodes.Usage, refused.ToString());
        Assert.Contains("--force", Assert.Single(refused.StderrLines), StringComparison.Ordinal);
        Assert.True(purge.ExitCode == ExitCodes.Ok, purge.ToString());
        Assert.Equal(["celery: 3 message(s) purged", "other: 1 message(s) purged", "Purged 4 message(s) from 2 queue(s)."], purge.StdoutLines);
    }
}
