// The `fennel` tool: commands that need no task code (call by name, result, purge), against any broker.
using Fennel.Cli;

return await FennelTool.RunAsync(args);
