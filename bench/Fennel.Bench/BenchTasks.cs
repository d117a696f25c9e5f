using Fennel.Calling;
using Fennel.Tasks;

namespace Fennel.Bench;

/// <summary>The benchmark's tasks, under the same names as in bench/celery/bench_tasks.py.</summary>
internal sealed class BenchTasks
{
    public const string NoOpName = "bench.noop";
    public const string AddName = "bench.add";
    public const string SleepName = "bench.sleep";

    private BenchTasks(TaskHandle<NoResult> noOp, TaskHandle<int, int, int> add, TaskHandle<int, NoResult> sleep)
    {
        NoOp = noOp;
        Add = add;
        Sleep = sleep;
    }

    /// <summary><c>bench.noop</c>: does nothing and stores no result; counts its runs for the drain measurement.</summary>
    public TaskHandle<NoResult> NoOp { get; }

    /// <summary><c>bench.add</c>: returns x + y through the result store; for round-trip latency.</summary>
    public TaskHandle<int, int, int> Add { get; }

    /// <summary>
    /// <c>bench.sleep(ms)</c>: awaits <c>Task.Delay(ms)</c>, an I/O-bound task that holds no thread, and stores no result;
    /// tells the drain probe when it starts and when it ends, so the probe sees how many sleep at once.
    /// </summary>
    public TaskHandle<int, NoResult> Sleep { get; }

    public static BenchTasks Register(FennelApp app) => new(
        app.Task<NoResult>(NoOpName, (DrainProbe probe) =>
        {
            probe.Ran();
            return default(NoResult);
        }, new TaskOptions { IgnoreResult = true }),
        app.Task<int, int, int>(AddName, (int x, int y) => x + y),
        app.Task<int, NoResult>(SleepName, async (int ms, DrainProbe probe, CancellationToken cancellationToken) =>
        {
            probe.Started();
            await Task.Delay(ms, cancellationToken);
            probe.Finished();
            return default(NoResult);
        }, new TaskOptions { IgnoreResult = true }));
}
