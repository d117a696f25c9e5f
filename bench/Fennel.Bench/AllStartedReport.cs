using System.Globalization;
using System.Text.Json.Nodes;

namespace Fennel.Bench;

/// <summary>
/// What a drain probe writes to <c>BENCH_PROBE.started</c> when the expected number of <c>bench.sleep</c> tasks have
/// started: <c>{"count": 10000, "at": 1712345678.12, "running": 10000, "peak": 10000}</c>, the time in Unix seconds.
/// <see cref="Running"/> equal to <see cref="Count"/> means every task was sleeping at once, none had finished.
/// The Fennel worker (<see cref="DrainProbe"/>) and the Celery worker (bench_tasks.py) write the same format.
/// </summary>
/// <param name="Count">Tasks started.</param>
/// <param name="At">When the last of them started.</param>
/// <param name="Running">Tasks running at that moment (started, not yet finished).</param>
/// <param name="Peak">The most running at once so far.</param>
internal sealed record AllStartedReport(long Count, DateTimeOffset At, long Running, long Peak)
{
    /// <summary>Writes the report to a temporary file and renames it, so a reader never sees half of it.</summary>
    public void Write(string path)
    {
        var json = new JsonObject { ["count"] = Count, ["at"] = DrainProbeReport.ToUnixSeconds(At), ["running"] = Running, ["peak"] = Peak };
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, json.ToJsonString());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a report written by either worker.</summary>
    public static AllStartedReport Read(string path)
    {
        var text = File.ReadAllText(path);
        if (JsonNode.Parse(text) is JsonObject { } json && json["count"] is JsonValue count && json["at"] is JsonValue at &&
            json["running"] is JsonValue running && json["peak"] is JsonValue peak)
        {
            return new AllStartedReport(count.GetValue<long>(), DrainProbeReport.FromUnixSeconds(at.GetValue<double>()), running.GetValue<long>(),
                peak.GetValue<long>());
        }
        throw new InvalidDataException($"The drain probe file {path} is not an all-started report: {text}");
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Count} started, {Running} running at once (peak {Peak})");
}
