namespace Fennel.Bench;

/// <summary>
/// Counts runs of a bench task in this worker process and, once <c>BENCH_EXPECTED</c> of them have run, writes when
/// the first, the middle one and the last ran to the file <c>BENCH_PROBE</c>, which the benchmark waits for
/// (<see cref="DrainProbeReport"/>).
/// Without those variables it only counts. bench/celery/bench_tasks.py has the same probe for the Celery worker.
/// </summary>
/// <remarks>
/// <para>
/// The cost per run is a clock read and two interlocked operations, so the probe does not slow the drain it measures,
/// and it needs no extra broker traffic, unlike a counter kept in Redis.
/// </para>
/// <para>
/// A task that takes time (<c>bench.sleep</c>) calls <see cref="Started"/> when it begins and <see cref="Finished"/>
/// when it ends: the first run is then the first start, the probe keeps the peak of tasks running at once, and when
/// the expected number have started it writes <see cref="AllStartedReport"/> to <c>BENCH_PROBE.started</c>.
/// <c>bench.noop</c> calls <see cref="Ran"/> alone, as before.
/// </para>
/// </remarks>
internal sealed class DrainProbe
{
    public const string PathVariable = "BENCH_PROBE";
    public const string ExpectedVariable = "BENCH_EXPECTED";

    private readonly TimeProvider _time;
    private readonly string? _path;
    private readonly long _expected;
    private long _count;
    private long _started;
    private long _running;
    private long _peak;
    private long _firstTicks; // UTC ticks of the first run (or start); 0 before it
    private long _halfTicks; // UTC ticks of the run that reached half the expected count

    public DrainProbe(TimeProvider time, string? path, long expected)
    {
        _time = time;
        _path = path;
        _expected = expected;
    }

    public static DrainProbe FromEnvironment(TimeProvider time)
    {
        var path = Environment.GetEnvironmentVariable(PathVariable);
        var expected = long.TryParse(Environment.GetEnvironmentVariable(ExpectedVariable), out var n) ? n : 0;
        return new DrainProbe(time, string.IsNullOrEmpty(path) ? null : path, expected);
    }

    /// <summary>The file the all-started report goes to, next to the drain report.</summary>
    public static string StartedPath(string path) => path + ".started";

    /// <summary>The runs after which the report is written (0: never).</summary>
    public long Expected => _expected;

    /// <summary>Runs so far.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>The most tasks running at once so far (between <see cref="Started"/> and <see cref="Finished"/>).</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>Called by a task that takes time, when it begins.</summary>
    public void Started()
    {
        var now = _time.GetUtcNow();
        Interlocked.CompareExchange(ref _firstTicks, now.UtcTicks, 0);
        var running = Interlocked.Increment(ref _running);
        long peak;
        while (running > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, running, peak) != peak)
        {
        }
        var started = Interlocked.Increment(ref _started);
        if (started == _expected && _path is not null) new AllStartedReport(started, now, running, Peak).Write(StartedPath(_path));
    }

    /// <summary>Called by a task that takes time, when it ends: counts as its run.</summary>
    public void Finished()
    {
        Interlocked.Decrement(ref _running);
        Ran();
    }

    /// <summary>Called by each run of the task.</summary>
    public void Ran()
    {
        var now = _time.GetUtcNow();
        Interlocked.CompareExchange(ref _firstTicks, now.UtcTicks, 0);
        var count = Interlocked.Increment(ref _count);
        if (count == DrainProbeReport.HalfOf(_expected)) Interlocked.Exchange(ref _halfTicks, now.UtcTicks);
        if (count == _expected && _path is not null)
        {
            var first = new DateTimeOffset(Interlocked.Read(ref _firstTicks), TimeSpan.Zero);
            var half = new DateTimeOffset(Interlocked.Read(ref _halfTicks), TimeSpan.Zero);
            new DrainProbeReport(count, first, half, now, Peak).Write(_path);
        }
    }
}
