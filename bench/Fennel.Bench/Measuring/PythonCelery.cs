using System.Globalization;
using System.Text.Json.Nodes;
using Fennel.Bench.Processes;

namespace Fennel.Bench.Measuring;

/// <summary>
/// The Python side of the run (bench/celery, copied next to this program): Celery workers started with
/// <c>python3 -m celery -A bench_tasks worker</c>, and <c>bench_client.py</c>, one process per client measurement,
/// which prints its result as JSON.
/// </summary>
internal sealed class PythonCelery(string python, string brokerUrl, string backendUrl)
{
    /// <summary>Where bench_tasks.py and bench_client.py are.</summary>
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "celery");

    /// <summary>
    /// Starts a worker on the queue <c>celery</c> (see <see cref="CeleryWorker"/>); at <paramref name="logLevel"/>
    /// <c>warning</c> it logs no line per task.
    /// </summary>
    public ChildProcess StartWorker(CeleryWorker worker, string logLevel, string? probe, int expected) => ChildProcess.Start(
        $"Celery worker {worker.Configuration}", python, ["-m", "celery", "-A", "bench_tasks", "worker", .. worker.Arguments(logLevel)],
        Environment(probe, expected), Directory);

    /// <summary>The line a worker logs at INFO when it consumes: <c>bench-threads@host ready.</c></summary>
    public static bool IsReadyLine(string line) => line.EndsWith(" ready.", StringComparison.Ordinal);

    /// <summary>
    /// <c>bench.noop.apply_async()</c> in a loop (<c>loop</c>), or <c>group(...).apply_async()</c> (<c>group</c>); with
    /// <paramref name="sleepMs"/>, <c>bench.sleep.apply_async((ms,))</c> in a loop instead.
    /// </summary>
    public async Task<EnqueueResult> EnqueueAsync(int count, string mode, TimeSpan warmup, CancellationToken cancellationToken, int? sleepMs = null)
    {
        string[] sleep = sleepMs is { } ms ? ["--sleep-ms", Text(ms)] : [];
        var json = await RunClientAsync(["enqueue", "--count", Text(count), "--mode", mode, "--warmup", Seconds(warmup), .. sleep], cancellationToken);
        var method = mode == "group" ? "group(...).apply_async()" : "apply_async(), one at a time";
        return new EnqueueResult(method, count, TimeSpan.FromSeconds(json["seconds"]!.GetValue<double>()));
    }

    /// <summary><c>bench.add.delay(i, 1).get()</c>, one after another.</summary>
    public async Task<LatencyResult> RoundTripsAsync(int count, TimeSpan warmup, CancellationToken cancellationToken)
    {
        var json = await RunClientAsync(["rtt", "--count", Text(count), "--warmup", Seconds(warmup)], cancellationToken);
        return new LatencyResult([.. json["microseconds"]!.AsArray().Select(n => n!.GetValue<double>())]);
    }

    /// <summary>Celery, kombu, redis-py, py-amqp and Python versions.</summary>
    public Task<JsonObject> VersionsAsync(CancellationToken cancellationToken) => RunClientAsync(["versions"], cancellationToken);

    private async Task<JsonObject> RunClientAsync(string[] arguments, CancellationToken cancellationToken)
    {
        await using var client = ChildProcess.Start($"bench_client.py {arguments[0]}", python, ["bench_client.py", .. arguments],
            Environment(probe: null, expected: 0), Directory);
        var exit = await client.WaitForExitAsync(TimeSpan.FromMinutes(10), cancellationToken);
        if (exit != 0) throw new InvalidOperationException($"{client.Name} failed with exit code {exit}.\n{client.Describe()}");
        return client.Stdout.LastOrDefault(l => l.StartsWith('{')) is { } line && JsonNode.Parse(line) is JsonObject json
            ? json
            : throw new InvalidOperationException($"{client.Name} printed no JSON result.\n{client.Describe()}");
    }

    private Dictionary<string, string> Environment(string? probe, int expected)
    {
        var environment = new Dictionary<string, string>
        {
            ["BENCH_BROKER"] = brokerUrl,
            ["BENCH_BACKEND"] = backendUrl,
            ["PYTHONDONTWRITEBYTECODE"] = "1",
        };
        if (probe is not null)
        {
            environment[DrainProbe.PathVariable] = probe;
            environment[DrainProbe.ExpectedVariable] = Text(expected);
        }
        return environment;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
