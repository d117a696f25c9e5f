using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Cli.CommandLine;
using Fennel.Dashboard.History;
using Fennel.Dashboard.Metrics;
using Fennel.Events;
using Fennel.Monitoring;
using Fennel.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Bench.Dashboard;

/// <summary>
/// <c>dashboard-ingest-parts</c>: where the dashboard's ingest time goes, without a broker. Reads the stream
/// <c>ingest_events.py record</c> wrote and times, one after the other on one thread, each step the dashboard's event
/// feed takes: decoding the kombu envelopes and events (what <c>SubscribeEventsAsync</c> does per message),
/// <c>ClusterState.Apply</c>, <c>TaskMetrics.Apply</c>, and the SQLite history alone (every decoded event appended to a
/// fresh file, then flushed). Each step runs once on the first 5 % of the stream first, so the JIT has compiled it.
/// Prints one JSON line.
/// </summary>
internal static class DashboardIngestPartsCommand
{
    public const string Name = "dashboard-ingest-parts";

    public static CommandSpec Spec { get; } = new(Name,
        "Times the dashboard's ingest steps (decode, cluster state, metrics, SQLite history) on a recorded event stream; prints JSON.",
        [
            new(["--stream"], "The recorded stream (bench/celery/ingest_events.py record)", "PATH"),
            new(["--history"], "A SQLite file to write (deleted first, with its -wal and -shm)", "PATH"),
        ],
        [], (_, command, cancellationToken) => RunAsync(command, cancellationToken));

    private static async Task<int> RunAsync(ParsedCommand command, CancellationToken cancellationToken)
    {
        var streamPath = command.Get("stream") ?? throw new UsageException("--stream is required.");
        var path = command.Get("history") ?? throw new UsageException("--history is required.");
        var messages = File.ReadLines(streamPath)
            .Select(line => Encoding.UTF8.GetBytes(JsonNode.Parse(line)!.AsArray()[1]!.GetValue<string>()))
            .ToList();
        var warm = messages.Take(Math.Max(1, messages.Count / 20)).ToList();

        Decode(warm);
        var (events, decode) = Measure(() => Decode(messages));

        ApplyState(new ClusterState(), Decode(warm));
        var (_, state) = Measure(() => ApplyState(new ClusterState(), events));

        var warmState = new ClusterState();
        ApplyMetrics(new TaskMetrics(1000, NullLogger.Instance), warmState, Decode(warm));
        var metricsState = new ClusterState();
        ApplyState(metricsState, events);
        var (_, metrics) = Measure(() => ApplyMetrics(new TaskMetrics(1000, NullLogger.Instance), metricsState, events));

        await (await WriteHistoryAsync(path, Decode(warm), cancellationToken))();
        var history = await MeasureAsync(() => WriteHistoryAsync(path, events, cancellationToken));

        var result = new Dictionary<string, object>
        {
            ["messages"] = messages.Count,
            ["events"] = events.Count,
            ["decode"] = decode,
            ["cluster_state"] = state,
            ["metrics"] = metrics,
            ["history"] = history,
        };
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>As <c>FennelClient.ReceiveEventsAsync</c>: the fast path from the bytes, else the envelope, its base64 JSON body, each event of the batch.</summary>
    private static List<CeleryEvent> Decode(List<byte[]> messages)
    {
        var events = new List<CeleryEvent>(messages.Count * 24);
        foreach (var message in messages)
        {
            if (CeleryEventCodec.TryDecodeMessage(message, events)) continue;
            var body = KombuEnvelope.Decode(message).BodyJson();
            foreach (var item in body as JsonArray ?? [])
            {
                events.Add(CeleryEventCodec.DecodeEvent((JsonObject)item!));
            }
        }
        return events;
    }

    private static int ApplyState(ClusterState state, List<CeleryEvent> events)
    {
        foreach (var e in events) state.Apply(e);
        return events.Count;
    }

    private static int ApplyMetrics(TaskMetrics metrics, ClusterState state, List<CeleryEvent> events)
    {
        foreach (var e in events) metrics.Apply(e, state);
        return events.Count;
    }

    /// <summary>As the feed: one <c>AppendAsync</c> per event, then a flush; open and close are outside the clock.</summary>
    private static async Task<Func<Task>> WriteHistoryAsync(string path, List<CeleryEvent> events, CancellationToken cancellationToken)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm" }) File.Delete(file);
        var store = await TaskHistoryStore.OpenAsync(new TaskHistoryOptions { Path = path }, cancellationToken: cancellationToken);
        return async () =>
        {
            foreach (var e in events) await store.AppendAsync([e], cancellationToken);
            await store.FlushAsync(cancellationToken);
            if (store.TaskEventsApplied != events.Count) throw new InvalidOperationException($"The history applied {store.TaskEventsApplied} of {events.Count} events.");
            await store.DisposeAsync();
        };
    }

    private static (T Result, Step Step) Measure<T>(Func<T> step)
    {
        using var self = Process.GetCurrentProcess();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var result = step();
        var wall = clock.Elapsed;
        self.Refresh();
        return (result, new Step(wall.TotalSeconds, (self.TotalProcessorTime - cpu).TotalSeconds, GC.GetTotalAllocatedBytes(precise: true) - allocated));
    }

    private static async Task<Step> MeasureAsync(Func<Task<Func<Task>>> open)
    {
        var run = await open();
        using var self = Process.GetCurrentProcess();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await run();
        var wall = clock.Elapsed;
        self.Refresh();
        return new Step(wall.TotalSeconds, (self.TotalProcessorTime - cpu).TotalSeconds, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    /// <summary>One step's wall time and the process's CPU time over it (all threads), in seconds, and the bytes the process allocated meanwhile.</summary>
    internal sealed record Step(double Seconds, double CpuSeconds, long AllocatedBytes);
}
