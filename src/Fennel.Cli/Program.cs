// The `fennel` tool: commands that need no task code (call by name, result, purge), against any broker.
using Fennel;
using Fennel.Cli;

try
{
    var app = FennelApp.CreateBuilder(args).Build();
    return await app.RunAsync(args);
}
catch (FennelConfigurationException ex)
{
    await Console.Error.WriteLineAsync("error: " + ex.Message);
    return ExitCodes.Config;
}
