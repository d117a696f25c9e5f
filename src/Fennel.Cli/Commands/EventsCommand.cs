using System.Globalization;
using System.Text;
using Fennel.Cli.CommandLine;
using Fennel.Cli.Output;
using Fennel.Configuration;
using Fennel.Events;
using Fennel.Monitoring;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>events</c>: a live view of task and worker events from every worker on the broker (Fennel and Python alike), one
/// line per event; <c>--dump</c> prints each event raw, as JSON, one per line.
/// </summary>
internal static class EventsCommand
{
    public static CommandSpec Spec { get; } = new("events",
        "Shows task and worker events live, one line each (workers send task events with -E or 'control enable_events').",
    [
        new(["--dump"], "Print each event raw, as one JSON object per line"),
        new(["--workers-only"], "Only worker events (online, heartbeat, offline)"),
        new(["--for"], "Stop after this many seconds (default: until Ctrl+C)", "SECONDS"),
    ], [], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var dump = cmd.Has("dump");
        using var watching = new Watching(cmd.GetSeconds("for"), cancellationToken);
        var state = new ClusterState(timeProvider: app.TimeProvider);
        var output = Console.Out;
        var gate = new Lock();
        Task Print(CeleryEvent e)
        {
            string line;
            lock (gate)
            {
                state.Apply(e);
                line = dump ? CeleryEventCodec.Encode(e).ToJsonString(ReplyViews.JsonOptions) : Describe(e, state);
            }
            return output.WriteLineAsync(line);
        }
        await using (await app.Client.SubscribeEventsAsync(Print, cmd.Has("workers-only") ? "worker.#" : "#", watching.Token).ConfigureAwait(false))
        {
            await Console.Error.WriteLineAsync($"Listening for events on {BrokerUrls.Redact(app.Options.EffectiveBrokerUrl)}; Ctrl+C to stop.").ConfigureAwait(false);
            await watching.WaitAsync().ConfigureAwait(false);
        }
        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>One readable line: time, node, type, the task (name and id) or the worker's load, and what changed.</summary>
    internal static string Describe(CeleryEvent e, ClusterState state)
    {
        var text = new StringBuilder();
        text.Append(e.Time.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)).Append("  ")
            .Append(e.Hostname.PadRight(24)).Append("  ").Append(e.Type.PadRight(16)).Append("  ");
        switch (e)
        {
            case WorkerEvent w:
                text.Append(CultureInfo.InvariantCulture, $"active={w.Active} processed={w.Processed}");
                if (w.LoadAverage is { Count: > 0 } load) text.Append(" load=").Append(string.Join(",", load.Select(l => l.ToString("0.##", CultureInfo.InvariantCulture))));
                if (e is WorkerOnlineEvent) text.Append(CultureInfo.InvariantCulture, $" ({w.SoftwareIdentity} {w.SoftwareVersion}, pid {e.Pid})");
                break;
            case TaskEvent t:
                var name = (t as TaskDescriptionEvent)?.Name ?? state.GetTask(t.TaskId)?.Name;
                text.Append(name ?? "task").Append('[').Append(t.TaskId).Append(']');
                text.Append(t switch
                {
                    TaskDescriptionEvent d => $" args={d.Args} kwargs={d.Kwargs}" + (d.Eta is { } eta ? $" eta={eta}" : ""),
                    TaskSucceededEvent s => $" result={s.Result}" + (s.Runtime is { } r ? string.Create(CultureInfo.InvariantCulture, $" runtime={r:0.###} s") : ""),
                    TaskExceptionEvent x => $" {x.Exception}",
                    TaskRevokedEvent v => v.Expired == true ? " expired" : v.Terminated == true ? " terminated" : "",
                    _ => "",
                });
                break;
        }
        return text.ToString().TrimEnd();
    }
}
