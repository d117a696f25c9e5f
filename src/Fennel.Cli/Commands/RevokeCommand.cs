using Fennel.Cli.CommandLine;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>revoke ID... [--terminate]</c>: revokes tasks. Fennel workers skip them (REVOKED), now and after a restart, for
/// <c>Fennel:RevokeExpires</c>; Python Celery workers on the broker get Celery's <c>revoke</c> request.
/// </summary>
internal static class RevokeCommand
{
    public static CommandSpec Spec { get; } = new("revoke",
        "Revokes tasks: workers skip them (REVOKED); kept in the broker, so workers started later skip them too.",
    [
        new(["--terminate"], "Also stop the tasks where they are running"),
    ], ["ID..."], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var ids = cmd.Positionals.Distinct(StringComparer.Ordinal).ToList();
        var terminate = cmd.Has("terminate");
        try
        {
            await app.Client.RevokeAsync(ids, terminate, cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.Config;
        }
        var hours = app.Options.RevokeExpires.TotalHours;
        Console.WriteLine($"Revoked {ids.Count} task(s){(terminate ? " with terminate" : "")}; workers honour it for {hours:0.##} h.");
        return ExitCodes.Ok;
    }
}
