using System.Diagnostics;
using System.Globalization;
using Fennel.Bench.Measuring;

namespace Fennel.Bench;

/// <summary>The run's progress on stderr, with the time since the run began; stdout carries only the report.</summary>
internal sealed class RunLog(TextWriter writer)
{
    private readonly long _started = Stopwatch.GetTimestamp();

    public void Step(string what) => Write("==>", what);

    public void Detail(string what) => Write("   ", what);

    public void Result(EnqueueResult enqueue) => Detail(string.Create(CultureInfo.InvariantCulture, $"{enqueue.Rate:N0} tasks/s"));

    public void Result(DrainResult drain) => Detail(string.Create(CultureInfo.InvariantCulture,
        $"{drain.Rate:N0} tasks/s ({drain.FirstToLast.TotalSeconds:0.000} s first to last); {drain.MemoryAfter}; queue left {drain.QueueLengthAfter}"));

    public void Result(LatencyResult roundTrips) => Detail(string.Create(CultureInfo.InvariantCulture,
        $"p50 {roundTrips.P50Milliseconds:0.000} ms, p99 {roundTrips.P99Milliseconds:0.000} ms"));

    private void Write(string marker, string what) =>
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Stopwatch.GetElapsedTime(_started).TotalSeconds,7:0.0}s {marker} {what}"));
}
