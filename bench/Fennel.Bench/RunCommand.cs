using Fennel.Cli.CommandLine;

namespace Fennel.Bench;

/// <summary>
/// <c>run</c>: the whole benchmark in one go, on one redis-server: Fennel, then Celery with the threads pool, then Celery
/// with the prefork pool; prints the report (Markdown) on stdout and progress on stderr.
/// </summary>
internal static class RunCommand
{
    public static CommandSpec Spec { get; } = new("run",
        "Measures Fennel and Celery 5 side by side on one redis-server (private by default) and prints a Markdown report.",
        BenchSettings.Options, [], (_, command, cancellationToken) => BenchRun.RunAsync(BenchSettings.From(command), cancellationToken));
}
