using Fennel.Cli;
using Fennel.Cli.CommandLine;

namespace Fennel;

/// <summary>Gives an app the Fennel command line: <c>return await app.RunAsync(args);</c>.</summary>
public static class FennelAppCommandLineExtensions
{
    /// <summary>
    /// Runs the command in <paramref name="args"/> (default: the arguments given to <c>CreateBuilder</c>):
    /// <c>worker</c>, <c>call</c>, <c>result</c>, <c>purge</c> and <paramref name="extraCommands"/>. Returns the exit code.
    /// </summary>
    public static async Task<int> RunAsync(this FennelApp app, string[]? args = null, params CommandSpec[] extraCommands)
    {
        ArgumentNullException.ThrowIfNull(app);
        await using (app.ConfigureAwait(false))
        {
            return await FennelCli.RunAsync(app, args ?? [.. app.Args], extraCommands).ConfigureAwait(false);
        }
    }
}
