using System.Globalization;
using Fennel.Bench.Processes;

namespace Fennel.Bench.Measuring;

/// <summary>
/// How a Fennel bench worker is started in the I/O scenario: this program's <c>worker</c> command with a pool, a
/// concurrency and optionally a prefetch multiplier (Fennel's default is 4, as Celery's), on the queue <c>celery</c>.
/// </summary>
internal sealed record FennelWorker(string Pool, int Concurrency, int? PrefetchMultiplier = null)
{
    /// <summary>What the report calls it: <c>-P async -c 100</c>, <c>-P async -c 10000 --prefetch-multiplier 1</c>.</summary>
    public string Configuration => $"-P {Pool} -c {Concurrency}" + (PrefetchMultiplier is { } m ? $" --prefetch-multiplier {m}" : "");

    /// <summary>Starts it on a broker and result store, with the drain probe writing to <paramref name="probe"/> after <paramref name="expected"/> runs.</summary>
    public ChildProcess Start(string broker, string results, string logLevel, string? probe, int expected)
    {
        var (fileName, arguments) = BenchProgram.Command(
        [
            "worker", "-b", broker, "--result-backend", results, "-Q", "celery", "-P", Pool, "-c", Text(Concurrency),
            .. PrefetchMultiplier is { } m ? new[] { "--prefetch-multiplier", Text(m) } : [],
            "-n", "bench-fennel@%h", "-l", logLevel,
        ]);
        var environment = new Dictionary<string, string>();
        if (probe is not null)
        {
            environment[DrainProbe.PathVariable] = probe;
            environment[DrainProbe.ExpectedVariable] = Text(expected);
        }
        return ChildProcess.Start($"Fennel worker {Configuration}", fileName, arguments, environment, Path.GetTempPath());
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
