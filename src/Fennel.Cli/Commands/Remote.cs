using Fennel.Cli.CommandLine;
using Fennel.Cli.Output;
using Fennel.Control;

namespace Fennel.Cli.Commands;

/// <summary>
/// What <c>inspect</c>, <c>control</c> and <c>status</c> share: the options that pick nodes and say how long to wait,
/// and how a set of replies becomes output and an exit code.
/// </summary>
internal static class Remote
{
    public static readonly OptionSpec Destination = new(["-d", "--destination"], "Only these nodes, comma-separated (default: every node)", "NODES");
    public static readonly OptionSpec Timeout = new(["-t", "--timeout"], "Seconds to wait for replies (default 1)", "SECONDS");
    public static readonly OptionSpec Json = new(["-j", "--json"], "Print the replies as one JSON object keyed by node");

    public static IReadOnlyList<string>? DestinationOf(ParsedCommand cmd) =>
        cmd.Get("destination") is { } nodes ? nodes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;

    public static ControlRequestOptions OptionsOf(ParsedCommand cmd) => new()
    {
        Destination = DestinationOf(cmd),
        Timeout = cmd.GetSeconds("timeout") ?? TimeSpan.FromSeconds(1),
    };

    /// <summary>
    /// Prints the replies (a table, or JSON with <c>--json</c>) and returns the exit code: 0 when every node answered
    /// without error, 1 when one replied with an error, 69 when none replied (as <c>celery inspect</c>).
    /// </summary>
    public static async Task<int> PrintAsync(string method, IReadOnlyList<ControlReply> replies, ParsedCommand cmd, TimeProvider time)
    {
        var options = OptionsOf(cmd);
        if (replies.Count == 0)
        {
            var whom = options.Destination is { } nodes ? "no reply from " + string.Join(", ", nodes) : "no nodes replied";
            await Console.Error.WriteLineAsync($"error: {whom} within {options.Timeout.TotalSeconds:0.##} s. " +
                "Are the workers running, on this broker? 'status' lists the nodes that answer; --timeout waits longer.").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        Console.WriteLine(cmd.Has("json") ? ReplyViews.Json(replies) : ReplyViews.Render(method, replies, time.GetUtcNow()));
        if (options.Destination is { } wanted && wanted.Except(replies.Select(r => r.Node), StringComparer.Ordinal).ToList() is { Count: > 0 } missing)
        {
            await Console.Error.WriteLineAsync($"warning: no reply from {string.Join(", ", missing)} within {options.Timeout.TotalSeconds:0.##} s.").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        return replies.Any(r => ReplyViews.ErrorOf(r) is not null) ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
