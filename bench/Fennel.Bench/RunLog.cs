using System.Diagnostics;
using System.Globalization;

namespace Fennel.Bench;

/// <summary>The run's progress on stderr, with the time since the run began; stdout carries only the report.</summary>
internal sealed class RunLog(TextWriter writer)
{
    private readonly long _started = Stopwatch.GetTimestamp();

    public void Step(string what) => Write("==>", what);

    public void Detail(string what) => Write("   ", what);

    private void Write(string marker, string what) =>
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Stopwatch.GetElapsedTime(_started).TotalSeconds,7:0.0}s {marker} {what}"));
}
