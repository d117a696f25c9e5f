namespace Fennel.Cli.Tests;

/// <summary>What a command printed and exited with.</summary>
public sealed record CommandOutput(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();

    public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();

    /// <summary>For assertion messages: the exit code and both streams.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs a command in this process, as the <c>fennel</c> tool or an app's <c>app.RunAsync(args)</c> would, with
/// Console.Out and Console.Error captured for its length (the tests of this project run one at a time).
/// </summary>
internal static class CommandLine
{
    /// <summary><c>fennel ARGS</c>: the tool builds its app from the command line, runs the command and disposes the app.</summary>
    public static Task<CommandOutput> RunToolAsync(params string[] args) => CaptureAsync(() => FennelTool.RunAsync(args));

    /// <summary>The command on an app the test holds (with workers of its own, say), as <c>app.RunAsync(args)</c> runs it.</summary>
    public static Task<CommandOutput> RunAsync(FennelApp app, params string[] args) => CaptureAsync(() => FennelCli.RunAsync(app, args));

    private static async Task<CommandOutput> CaptureAsync(Func<Task<int>> run)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        using var errors = new StringWriter();
        Console.SetOut(output);
        Console.SetError(errors);
        try
        {
            var exitCode = await run();
            return new CommandOutput(exitCode, output.ToString(), errors.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }
}
