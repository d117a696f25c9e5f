using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Cli.CommandLine;
using Fennel.Cli.Output;
using Fennel.Monitoring;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>status</c>: which nodes are online (those that answer a ping, Fennel and Python alike). With <c>--watch</c> it keeps
/// listening to worker heartbeats and prints a line whenever a node comes online or goes offline (a worker is offline
/// when it said so, or when no heartbeat came for twice its heartbeat interval: 4 s for Celery's and Fennel's 2 s).
/// </summary>
internal static class StatusCommand
{
    private static readonly TimeSpan WatchTick = TimeSpan.FromMilliseconds(250);

    public static CommandSpec Spec { get; } = new("status",
        "Lists the nodes that are online; with --watch, keeps printing nodes that come online or go offline.",
    [
        Remote.Timeout,
        Remote.Json,
        new(["-w", "--watch"], "Keep watching heartbeats and print each node that comes online or goes offline"),
        new(["--for"], "With --watch: stop after this many seconds (default: until Ctrl+C)", "SECONDS"),
    ], [], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        if (cmd.Has("watch")) return await WatchAsync(app, cmd, cancellationToken).ConfigureAwait(false);
        var replies = await app.Client.Control.RequestAsync("ping", [], Remote.OptionsOf(cmd), cancellationToken).ConfigureAwait(false);
        if (replies.Count == 0)
        {
            await Console.Error.WriteLineAsync($"error: no nodes replied within {Remote.OptionsOf(cmd).Timeout.TotalSeconds:0.##} s.").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        var nodes = replies.Select(r => r.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (cmd.Has("json"))
        {
            Console.WriteLine(new JsonObject { ["online"] = new JsonArray([.. nodes.Select(n => (JsonNode?)n)]), ["count"] = nodes.Count }.ToJsonString(ReplyViews.JsonOptions));
        }
        else
        {
            var table = new TextTable("NODE", "STATUS");
            foreach (var node in nodes) table.Add(node, "online");
            Console.WriteLine(table);
            Console.WriteLine();
            Console.WriteLine(nodes.Count == 1 ? "1 node online." : $"{nodes.Count} nodes online.");
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> WatchAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var json = cmd.Has("json");
        using var watching = new Watching(cmd.GetSeconds("for"), cancellationToken);
        var state = new ClusterState(timeProvider: app.TimeProvider);
        var known = new Dictionary<string, bool>(StringComparer.Ordinal);
        await using (await app.Client.SubscribeEventsAsync(e =>
        {
            state.Apply(e);
            return Task.CompletedTask;
        }, "worker.#", watching.Token).ConfigureAwait(false))
        {
            // Who is there now, before the first heartbeats arrive.
            var replies = await app.Client.Control.RequestAsync("ping", [], Remote.OptionsOf(cmd), watching.Token).ConfigureAwait(false);
            foreach (var node in replies.Select(r => r.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                known[node] = true;
                Print(json, app.TimeProvider.GetUtcNow(), node, online: true, "answered ping");
            }
            await Console.Error.WriteLineAsync($"{known.Count} node(s) online; watching heartbeats (Ctrl+C to stop).").ConfigureAwait(false);
            while (!watching.Token.IsCancellationRequested)
            {
                var snapshot = state.Snapshot();
                foreach (var worker in snapshot.Workers)
                {
                    if (known.TryGetValue(worker.Hostname, out var online) && online == worker.IsOnline) continue;
                    known[worker.Hostname] = worker.IsOnline;
                    Print(json, snapshot.TakenAt, worker.Hostname, worker.IsOnline, Why(worker, snapshot.TakenAt));
                }
                try
                {
                    await Task.Delay(WatchTick, watching.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        return ExitCodes.Ok;
    }

    private static string Why(WorkerInfo worker, DateTimeOffset now) => worker switch
    {
        { IsOnline: true } => "heartbeat",
        { SaidOffline: true } => "said worker-offline",
        { LastHeartbeat: { } last } => $"no heartbeat for {ReplyViews.Duration(now - last)}",
        _ => "no heartbeat",
    };

    private static void Print(bool json, DateTimeOffset at, string node, bool online, string why)
    {
        if (json)
        {
            Console.WriteLine(new JsonObject
            {
                ["time"] = at.ToString("O", CultureInfo.InvariantCulture),
                ["node"] = node,
                ["status"] = online ? "online" : "offline",
                ["reason"] = why,
            }.ToJsonString(ReplyViews.JsonOptions));
        }
        else
        {
            Console.WriteLine($"{at.ToLocalTime():HH:mm:ss.fff}  {node,-30}  {(online ? "online" : "offline"),-8} ({why})");
        }
        Console.Out.Flush();
    }
}
