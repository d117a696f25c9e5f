namespace Fennel.Cli;

/// <summary>
/// The <c>fennel</c> tool: the commands that need no task code (call by name, result, purge, dead-letters, inspect...),
/// against any broker, on an app built from the command line alone.
/// </summary>
internal static class FennelTool
{
    /// <summary>Builds the app from <paramref name="args"/> and runs the command; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        FennelApp app;
        try
        {
            app = FennelApp.CreateBuilder(args).Build();
        }
        catch (FennelConfigurationException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.Config;
        }
        await using (app.ConfigureAwait(false))
        {
            return await FennelCli.RunAsync(app, args, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }
}
