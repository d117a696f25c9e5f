using System.Globalization;
using System.Text.Json.Nodes;

namespace Fennel.Bench;

/// <summary>
/// What a drain probe writes when the expected number of no-op tasks have run:
/// <c>{"count": 20000, "first": 1712345678.12, "half": 1712345678.41, "last": 1712345678.65}</c>, times in Unix
/// seconds: the first run, the run that reached half the count (<see cref="HalfOf"/>), the last run; for a task that
/// takes time (<c>bench.sleep</c>) the first is the first start, and <c>"peak"</c> is the most running at once.
/// The Fennel worker (<see cref="DrainProbe"/>) and the Celery worker (bench_tasks.py) write the same format.
/// </summary>
/// <param name="Count">Runs counted.</param>
/// <param name="First">When the first run happened.</param>
/// <param name="Half">When the run that reached half the count happened.</param>
/// <param name="Last">When the run that reached the count happened.</param>
/// <param name="Peak">The most tasks running at once (0 for <c>bench.noop</c>, whose runs are not tracked as running).</param>
internal sealed record DrainProbeReport(long Count, DateTimeOffset First, DateTimeOffset Half, DateTimeOffset Last, long Peak = 0)
{
    /// <summary>The run that marks half of <paramref name="count"/>: the 10,000th of 20,000.</summary>
    public static long HalfOf(long count) => (count + 1) / 2;

    /// <summary>Writes the report to a temporary file and renames it, so a reader never sees half of it.</summary>
    public void Write(string path)
    {
        var json = new JsonObject
        {
            ["count"] = Count, ["first"] = ToUnixSeconds(First), ["half"] = ToUnixSeconds(Half), ["last"] = ToUnixSeconds(Last),
            ["peak"] = Peak,
        };
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, json.ToJsonString());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a report written by either worker.</summary>
    public static DrainProbeReport Read(string path)
    {
        var text = File.ReadAllText(path);
        if (JsonNode.Parse(text) is JsonObject { } json && json["count"] is JsonValue count && json["first"] is JsonValue first &&
            json["half"] is JsonValue half && json["last"] is JsonValue last)
        {
            return new DrainProbeReport(count.GetValue<long>(), FromUnixSeconds(first.GetValue<double>()), FromUnixSeconds(half.GetValue<double>()),
                FromUnixSeconds(last.GetValue<double>()), json["peak"] is JsonValue peak ? peak.GetValue<long>() : 0);
        }
        throw new InvalidDataException($"The drain probe file {path} is not a report: {text}");
    }

    internal static double ToUnixSeconds(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;

    internal static DateTimeOffset FromUnixSeconds(double seconds) =>
        DateTimeOffset.UnixEpoch + TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond, MidpointRounding.AwayFromZero));

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Count} runs in {(Last - First).TotalSeconds:0.000} s");
}
