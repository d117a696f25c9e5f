namespace Fennel.Cli.Tests.Commands;

/// <summary><c>fennel inspect</c> against workers in this process, on the in-memory broker.</summary>
public sealed class InspectCommandTests
{
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
