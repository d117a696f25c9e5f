using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Cli.CommandLine;
using Fennel.Protocol;
using Fennel.Tasks;

namespace Fennel.Cli.Commands;

/// <summary><c>call NAME</c>: sends a task by name; with <c>--wait</c> prints its result, or its exception and exits 1.</summary>
internal static class CallCommand
{
    public static CommandSpec Spec { get; } = new("call", "Sends a task by name and prints its id; with --wait, prints its result.",
    [
        new(["-a", "--args"], "Positional arguments as a JSON array, e.g. '[2, 3]'", "JSON"),
        new(["-k", "--kwargs"], "Keyword arguments as a JSON object, e.g. '{\"x\": 1}'", "JSON"),
        new(["-Q", "--queue"], "Queue (overrides routers)", "QUEUE"),
        new(["--countdown"], "Run no sooner than this many seconds from now", "SECONDS"),
        new(["--eta"], "Run no sooner than this ISO-8601 time", "TIME"),
        new(["--expires"], "Expire after this many seconds, or at this ISO-8601 time", "SECONDS|TIME"),
        new(["--priority"], "Priority 0-9", "N"),
        new(["--task-id"], "Task id (default: a new UUID)", "ID"),
        new(["--wait"], "Wait for the result and print it; exit 1 if the task failed"),
        new(["--timeout"], "Seconds to wait with --wait (default 30)", "SECONDS"),
    ], ["NAME"], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var args = ParseJson<JsonArray>(cmd.Get("args"), "--args", "a JSON array like '[2, 3]'");
        var kwargs = ParseJson<JsonObject>(cmd.Get("kwargs"), "--kwargs", "a JSON object like '{\"x\": 1}'");
        var options = new CallOptions
        {
            Queue = cmd.Get("queue"),
            Countdown = cmd.GetSeconds("countdown"),
            Eta = cmd.Get("eta") is { } eta ? ParseTime(eta, "--eta") : null,
            Priority = cmd.GetInt("priority", min: 0) is { } p && p <= 9 ? p : cmd.Has("priority") ? throw new UsageException("--priority expects 0-9.") : null,
            TaskId = cmd.Get("task-id"),
        };
        if (cmd.Get("expires") is { } expires)
        {
            options = double.TryParse(expires, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                ? options with { ExpiresIn = TimeSpan.FromSeconds(seconds) }
                : options with { Expires = ParseTime(expires, "--expires") };
        }
        var name = cmd.Positionals[0];
        var result = await app.Client.SendTaskAsync(name, args, kwargs, options, cancellationToken).ConfigureAwait(false);
        if (!cmd.Has("wait"))
        {
            Console.WriteLine(result.Id);
            return ExitCodes.Ok;
        }
        return await ResultCommand.PrintAsync(result, cmd.GetSeconds("timeout") ?? TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
    }

    private static T? ParseJson<T>(string? text, string option, string expected) where T : JsonNode
    {
        if (text is null) return null;
        try
        {
            return JsonNode.Parse(text) as T ?? throw new UsageException($"{option} expects {expected}, not '{text}'.");
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{option} is not valid JSON ({ex.Message}); expected {expected}.");
        }
    }

    private static DateTimeOffset ParseTime(string text, string option) =>
        CeleryTime.TryParse(text, out var value) ? value : throw new UsageException($"{option} expects an ISO-8601 time, not '{text}'.");
}
