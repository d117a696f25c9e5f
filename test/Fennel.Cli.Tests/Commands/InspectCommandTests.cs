using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Fennel.Cli.Tests.Commands;

/// <summary><c>fennel inspect</c> against workers in this process, on the in-memory broker.</summary>
public sealed class InspectCommandTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Query_task_shows_a_running_task_as_active_and_a_waiting_one_as_reserved()
    {
        var app = FennelApp.CreateBuilder(["-l", "warning"]).Configure(o =>
        {
            o.BrokerUrl = "memory://" + Guid.NewGuid().ToString("N");
            o.Worker.Concurrency = 1;
            o.Worker.Mingle = false;
        }).Build();
        await using var _ = app;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hold = app.Task<int, int>("tasks.hold", async (int n) =>
        {
            await release.Task;
            return n;
        });
        await using var worker = app.CreateWorker(o => o.NodeName = "q@test");
        await worker.StartAsync();
        var running = await hold.DelayAsync(1);
        var waiting = await hold.DelayAsync(2);
        await Eventually.HoldsAsync(() => worker.Running == 1, "the first task running");

        var table = await CommandLine.RunAsync(app, "inspect", "query_task", running.Id, waiting.Id, "unknown-id", "--timeout", "5", "-d", "q@test");
        var json = await CommandLine.RunAsync(app, "inspect", "query_task", running.Id, waiting.Id, "--timeout", "5", "-d", "q@test", "--json");
        release.SetResult();
        await waiting.GetAsync(Wait);
        output.WriteLine(table.Stdout);
        output.WriteLine(json.Stdout);

        Assert.True(table.ExitCode == ExitCodes.Ok, table.ToString());
        Assert.Matches("^NODE +TASK ID +STATE +NAME +ARGS +KWARGS +STARTED$", table.StdoutLines[0]);
        Assert.Matches($@"^q@test +{running.Id} +active +tasks\.hold +\[1\] +\{{\}} +\S+", table.StdoutLines.Single(l => l.Contains(running.Id, StringComparison.Ordinal)));
        Assert.Matches($@"^q@test +{waiting.Id} +reserved +tasks\.hold +\[2\] +\{{\}}", table.StdoutLines.Single(l => l.Contains(waiting.Id, StringComparison.Ordinal)));
        Assert.DoesNotContain("unknown-id", table.Stdout, StringComparison.Ordinal);

        // Celery's reply: {node: {task id: [state, Request.info()]}}.
        Assert.True(json.ExitCode == ExitCodes.Ok, json.ToString());
        var reply = JsonNode.Parse(json.Stdout)!["q@test"]!.AsObject();
        Assert.Equal("active", (string?)reply[running.Id]![0]);
        Assert.Equal(running.Id, (string?)reply[running.Id]![1]!["id"]);
        Assert.Equal("reserved", (string?)reply[waiting.Id]![0]);
        Assert.Equal("tasks.hold", (string?)reply[waiting.Id]![1]!["name"]);
    }

    [Fact]
    public async Task Query_task_of_ids_no_worker_holds_says_so_per_node()
    {
        var app = FennelApp.CreateBuilder(["-l", "warning"]).Configure(o =>
        {
            o.BrokerUrl = "memory://" + Guid.NewGuid().ToString("N");
            o.Worker.Mingle = false;
        }).Build();
        await using var _ = app;
        await using var worker = app.CreateWorker(o => o.NodeName = "idle@test");
        await worker.StartAsync();

        var run = await CommandLine.RunAsync(app, "inspect", "query_task", "nobody-has-it", "--timeout", "5", "-d", "idle@test");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Equal("idle@test: none of these tasks", run.Stdout.Trim());
    }

    [Fact]
    public async Task Inspect_with_no_worker_running_exits_69_with_one_error_line()
    {
        var app = FennelApp.CreateBuilder(["-l", "warning"]).Configure(o => o.BrokerUrl = "memory://" + Guid.NewGuid().ToString("N")).Build();
        await using var _ = app;

        var run = await CommandLine.RunAsync(app, "inspect", "ping", "--timeout", "0.3");

        Assert.True(run.ExitCode == ExitCodes.Unavailable, run.ToString());
        Assert.StartsWith("error: no nodes replied within 0.3 s", Assert.Single(run.StderrLines), StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }
}
