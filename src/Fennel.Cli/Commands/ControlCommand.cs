using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Cli.CommandLine;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>control METHOD [ARGS...]</c>: changes workers (Fennel and Python alike) over Celery's remote control: pool size,
/// rate and time limits, queues, events, revokes, warm shutdown.
/// </summary>
internal static class ControlCommand
{
    /// <summary>The methods that change workers, with their arguments and help.</summary>
    public static readonly IReadOnlyDictionary<string, string> Methods = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["shutdown"] = "Warm shutdown: stop taking tasks, finish running ones, exit 0 (a supervisor starts them again)",
        ["pool_grow"] = "[N]  Add N slots to the pool (default 1)",
        ["pool_shrink"] = "[N]  Remove N slots from the pool (default 1)",
        ["pool_restart"] = "Replace the pool's threads or child processes after running tasks finish",
        ["rate_limit"] = "TASK RATE  Set a task's rate limit (100/s, 10/m, 500/h; 0 removes it)",
        ["time_limit"] = "TASK SOFT [HARD]  Set a task's soft and hard time limits in seconds",
        ["add_consumer"] = "QUEUE [EXCHANGE [TYPE [ROUTING_KEY]]]  Start consuming a queue",
        ["cancel_consumer"] = "QUEUE  Stop consuming a queue",
        ["revoke"] = "ID...  Revoke tasks (with --terminate, stop them where they run)",
        ["enable_events"] = "Start sending task events",
        ["disable_events"] = "Stop sending task events",
        ["heartbeat"] = "Send a worker-heartbeat event now",
    };

    public static CommandSpec Spec { get; } = new("control",
        "Changes workers: " + string.Join(", ", Methods.Keys) + ". 'control --help' lists the arguments.",
        [Remote.Destination, Remote.Timeout, Remote.Json, new(["--terminate"], "With revoke: also stop the tasks where they run")],
        ["METHOD..."], RunAsync)
    {
        Details = "Methods:" + Environment.NewLine + string.Join(Environment.NewLine, Methods.Select(m => $"  {m.Key,-16} {m.Value}")),
    };

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var method = cmd.Positionals[0];
        var args = cmd.Positionals.Skip(1).ToList();
        if (!Methods.ContainsKey(method))
        {
            throw new UsageException($"Unknown control method '{method}'. Methods:{Environment.NewLine}" +
                string.Join(Environment.NewLine, Methods.Select(m => $"  {m.Key,-16} {m.Value}")) +
                (InspectCommand.Methods.ContainsKey(method) ? $"{Environment.NewLine}'{method}' only reads: use 'inspect {method}'." : ""));
        }
        var arguments = ArgumentsFor(method, args, cmd.Has("terminate"));
        if (method == "shutdown")
        {
            // Celery's workers never answer a shutdown, so there is nothing to wait for.
            var destination = Remote.DestinationOf(cmd);
            await app.Client.Control.SendAsync(method, arguments, destination, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Warm shutdown sent to {(destination is null ? "every node" : string.Join(", ", destination))}: " +
                "they stop taking tasks, finish the running ones and exit. 'status' shows when they are gone.");
            return ExitCodes.Ok;
        }
        var replies = await app.Client.Control.RequestAsync(method, arguments, Remote.OptionsOf(cmd), cancellationToken).ConfigureAwait(false);
        return await Remote.PrintAsync(method, replies, cmd, app.TimeProvider).ConfigureAwait(false);
    }

    /// <summary>Celery's argument names for each method, from the positional arguments.</summary>
    internal static JsonObject ArgumentsFor(string method, IReadOnlyList<string> args, bool terminate)
    {
        void Expect(int min, int max, string usage)
        {
            if (args.Count < min || args.Count > max) throw new UsageException($"Usage: control {method} {usage}".TrimEnd());
        }

        switch (method)
        {
            case "pool_grow" or "pool_shrink":
                Expect(0, 1, "[N]");
                return new JsonObject { ["n"] = args.Count == 0 ? 1 : PositiveInt(args[0], "N") };
            case "rate_limit":
                Expect(2, 2, "TASK RATE   (e.g. tasks.add 10/s; 0 removes the limit)");
                return new JsonObject { ["task_name"] = args[0], ["rate_limit"] = args[1] };
            case "time_limit":
                Expect(2, 3, "TASK SOFT [HARD]   (seconds)");
                return new JsonObject { ["task_name"] = args[0], ["soft"] = Seconds(args[1], "SOFT"), ["hard"] = args.Count > 2 ? Seconds(args[2], "HARD") : null };
            case "add_consumer":
                Expect(1, 4, "QUEUE [EXCHANGE [TYPE [ROUTING_KEY]]]");
                return new JsonObject
                {
                    ["queue"] = args[0],
                    ["exchange"] = args.Count > 1 ? args[1] : null,
                    ["exchange_type"] = args.Count > 2 ? args[2] : null,
                    ["routing_key"] = args.Count > 3 ? args[3] : null,
                };
            case "cancel_consumer":
                Expect(1, 1, "QUEUE");
                return new JsonObject { ["queue"] = args[0] };
            case "revoke":
                Expect(1, int.MaxValue, "ID... [--terminate]");
                return new JsonObject { ["task_id"] = new JsonArray([.. args.Select(id => (JsonNode?)id)]), ["terminate"] = terminate, ["signal"] = "SIGTERM" };
            case "pool_restart":
                Expect(0, 0, "");
                return new JsonObject { ["modules"] = null, ["reload"] = false, ["reloader"] = null };
            default:
                Expect(0, 0, "");
                return [];
        }
    }

    private static int PositiveInt(string text, string name) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new UsageException($"{name} must be a whole number of at least 1, not '{text}'.");

    private static double Seconds(string text, string name) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && !double.IsInfinity(s)
            ? s
            : throw new UsageException($"{name} must be a number of seconds, not '{text}'.");
}
