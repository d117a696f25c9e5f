namespace Fennel.Cli.Tests;

/// <summary>The command line itself: help texts, versions, and the usage (64) and configuration (78) errors.</summary>
public sealed class ParsingAndHelpTests
{
    public static TheoryData<string> Commands => [.. FennelCli.BuiltIn.Select(c => c.Name)];

    [Fact]
    public async Task Without_a_command_it_prints_the_overview_and_exits_64()
    {
        var run = await CommandLine.RunToolAsync();

        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.StartsWith("Usage: ", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_command_with_its_summary_and_the_global_options()
    {
        var run = await CommandLine.RunToolAsync("--help");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        foreach (var command in FennelCli.BuiltIn)
        {
            Assert.Contains(run.StdoutLines, l => l.TrimStart().StartsWith(command.Name + " ", StringComparison.Ordinal) && l.EndsWith(command.Summary, StringComparison.Ordinal));
        }
        Assert.Contains("--broker", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("dead-letters", run.Stdout, StringComparison.Ordinal);
        // The summaries line up however long a command's name is.
        var columns = run.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).SkipWhile(l => l != "Commands:").Skip(1).TakeWhile(l => l.Length > 0)
            .Select(l => l.IndexOf(FennelCli.BuiltIn.First(c => l.TrimStart().StartsWith(c.Name + " ", StringComparison.Ordinal)).Summary, StringComparison.Ordinal));
        Assert.Single(columns.Distinct());
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Each_command_has_help_that_exits_0_with_its_usage_and_options(string command)
    {
        var run = await CommandLine.RunToolAsync(command, "--help");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Matches($@"^Usage: \S+ {command}\b", run.Stdout);
        Assert.Contains("Options:", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("--broker", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("", run.Stderr);
    }

    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var run = await CommandLine.RunToolAsync("--version");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+$", run.Stdout.Trim());
    }

    [Theory]
    [InlineData("nosuch")]
    [InlineData("deadletters")]
    public async Task An_unknown_command_exits_64_with_one_error_line_naming_the_commands(string command)
    {
        var run = await CommandLine.RunToolAsync(command);

        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith($"error: unknown command '{command}'", line, StringComparison.Ordinal);
        Assert.Contains("dead-letters", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("worker", "--bogus")]                       // unknown option
    [InlineData("worker", "--concurrency")]                 // option without its value
    [InlineData("worker", "--help=yes")]                    // a flag given a value
    [InlineData("result")]                                  // missing positional argument
    [InlineData("result", "a", "b")]                        // one too many
    [InlineData("inspect", "ping", "--timeout", "soon")]    // not a number
    [InlineData("inspect", "ping", "-l", "loud")]           // unknown log level
    [InlineData("inspect", "nosuch")]
    [InlineData("inspect", "shutdown")]                     // changes workers: control's
    [InlineData("inspect", "ping", "extra")]
    [InlineData("inspect", "query_task")]                   // needs ids
    [InlineData("control", "rate_limit", "test.rated")]
    [InlineData("control", "pool_grow", "many")]
    [InlineData("control", "time_limit", "test.sleep", "soon")]
    [InlineData("dead-letters")]
    [InlineData("dead-letters", "nosuch")]
    [InlineData("dead-letters", "show")]
    [InlineData("dead-letters", "show", "a", "b")]
    [InlineData("dead-letters", "requeue")]                 // ids or --all
    [InlineData("dead-letters", "requeue", "a", "--all")]   // not both
    [InlineData("dead-letters", "list", "a")]
    [InlineData("dead-letters", "list", "--limit", "0")]
    [InlineData("dead-letters", "list", "--all")]
    [InlineData("dead-letters", "purge", "--json")]
    public async Task A_bad_command_line_exits_64_with_one_error_line_before_touching_the_broker(params string[] args)
    {
        // A broker that cannot be reached: a command that got as far as the broker would fail with 69, not 64.
        var run = await CommandLine.RunToolAsync([args[0], "-b", "redis://127.0.0.1:1/0", "-l", "critical", .. args[1..]]);

        Assert.True(run.ExitCode == ExitCodes.Usage, $"{string.Join(' ', args)}: {run}");
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Inspect_shutdown_says_to_use_control()
    {
        var run = await CommandLine.RunToolAsync("inspect", "shutdown");

        Assert.Contains("use 'control shutdown'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_help_lists_its_options()
    {
        var run = await CommandLine.RunToolAsync("worker", "--help");

        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        foreach (var option in new[] { "--queues", "--concurrency", "--pool", "--hostname", "--pidfile" }) Assert.Contains(option, run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("worker", "nonsense")]
    [InlineData("inspect", "nonsense")]
    [InlineData("dead-letters", "sqlite://host/fennel.db")]
    public async Task A_bad_broker_url_exits_78_with_one_error_line(string command, string url)
    {
        var run = await CommandLine.RunToolAsync(command == "dead-letters" ? [command, "list", "-b", url] : [command, "-b", url]);

        Assert.True(run.ExitCode == ExitCodes.Config, run.ToString());
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith("error:", line, StringComparison.Ordinal);
        Assert.Contains(url, line, StringComparison.Ordinal);
    }
}
