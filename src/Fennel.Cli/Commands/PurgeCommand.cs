using Fennel.Cli.CommandLine;

namespace Fennel.Cli.Commands;

/// <summary><c>purge</c>: deletes every waiting message of the given queues. Asks first unless <c>--force</c>.</summary>
internal static class PurgeCommand
{
    public static CommandSpec Spec { get; } = new("purge", "Deletes every waiting message of the given queues (running tasks are not touched).",
    [
        new(["-Q", "--queues"], "Queues to purge, comma-separated (default: celery)", "QUEUES"),
        new(["-f", "--force"], "Do not ask for confirmation"),
    ], [], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var queues = cmd.Get("queues")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            ?? [app.Options.DefaultQueue];
        if (!cmd.Has("force"))
        {
            if (Console.IsInputRedirected)
            {
                await Console.Error.WriteLineAsync($"error: purge deletes messages for good; pass --force to purge {string.Join(", ", queues)} without a prompt.").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            Console.Write($"Delete every waiting message of {string.Join(", ", queues)}? This cannot be undone. [y/N] ");
            if (!string.Equals(Console.ReadLine()?.Trim(), "y", StringComparison.OrdinalIgnoreCase)) return ExitCodes.Ok;
        }
        long total = 0;
        foreach (var queue in queues)
        {
            var count = await app.Client.PurgeAsync(queue, cancellationToken).ConfigureAwait(false);
            total += count;
            Console.WriteLine($"{queue}: {count} message(s) purged");
        }
        Console.WriteLine($"Purged {total} message(s) from {queues.Length} queue(s).");
        return ExitCodes.Ok;
    }
}
