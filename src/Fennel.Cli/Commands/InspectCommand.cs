using System.Text.Json.Nodes;
using Fennel.Cli.CommandLine;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>inspect METHOD [ARGS...]</c>: asks workers (Fennel and Python alike) what they are doing, over Celery's remote
/// control, and prints their replies as tables (or JSON with <c>--json</c>).
/// </summary>
internal static class InspectCommand
{
    /// <summary>The read-only methods, with their help.</summary>
    public static readonly IReadOnlyDictionary<string, string> Methods = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ping"] = "Which nodes answer",
        ["stats"] = "Concurrency, tasks run, uptime, broker, per node",
        ["active"] = "Tasks running now",
        ["reserved"] = "Tasks received and waiting for a free slot",
        ["scheduled"] = "Tasks held until their ETA",
        ["registered"] = "Task names each node can run",
        ["active_queues"] = "Queues each node consumes",
        ["revoked"] = "Ids of revoked tasks each node knows",
        ["conf"] = "Each node's configuration",
        ["query_task"] = "Where the given task ids are (ID...)",
    };

    public static CommandSpec Spec { get; } = new("inspect",
        "Asks workers what they are doing: " + string.Join(", ", Methods.Keys) + ".",
        [Remote.Destination, Remote.Timeout, Remote.Json], ["METHOD..."], RunAsync)
    {
        Details = "Methods:" + Environment.NewLine + string.Join(Environment.NewLine, Methods.Select(m => $"  {m.Key,-16} {m.Value}")),
    };

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var method = cmd.Positionals[0];
        var rest = cmd.Positionals.Skip(1).ToList();
        if (!Methods.ContainsKey(method))
        {
            throw new UsageException($"Unknown inspect method '{method}'. Methods: {string.Join(", ", Methods.Keys)}." +
                (ControlCommand.Methods.ContainsKey(method) ? $" '{method}' changes workers: use 'control {method}'." : ""));
        }
        JsonObject arguments = method switch
        {
            "active" => new JsonObject { ["safe"] = null },
            "registered" => new JsonObject { ["taskinfoitems"] = new JsonArray() },
            "conf" => new JsonObject { ["with_defaults"] = false },
            "query_task" when rest.Count == 0 => throw new UsageException("'inspect query_task' needs one or more task ids."),
            "query_task" => new JsonObject { ["ids"] = new JsonArray([.. rest.Select(id => (JsonNode?)id)]) },
            _ => [],
        };
        if (method != "query_task" && rest.Count > 0) throw new UsageException($"'inspect {method}' takes no arguments; got '{rest[0]}'.");
        var replies = await app.Client.Control.RequestAsync(method, arguments, Remote.OptionsOf(cmd), cancellationToken).ConfigureAwait(false);
        return await Remote.PrintAsync(method, replies, cmd, app.TimeProvider).ConfigureAwait(false);
    }
}
