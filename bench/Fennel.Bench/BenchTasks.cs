using Fennel.Calling;
using Fennel.Tasks;

namespace Fennel.Bench;

/// <summary>The benchmark's two tasks, under the same names as in bench/celery/bench_tasks.py.</summary>
internal sealed class BenchTasks
{
    public const string NoOpName = "bench.noop";
    public const string AddName = "bench.add";

    private BenchTasks(TaskHandle<NoResult> noOp, TaskHandle<int, int, int> add)
    {
        NoOp = noOp;
        Add = add;
    }

    /// <summary><c>bench.noop</c>: does nothing and stores no result; counts its runs for the drain measurement.</summary>
    public TaskHandle<NoResult> NoOp { get; }

    /// <summary><c>bench.add</c>: returns x + y through the result store; for round-trip latency.</summary>
    public TaskHandle<int, int, int> Add { get; }

    public static BenchTasks Register(FennelApp app) => new(
        app.Task<NoResult>(NoOpName, (DrainProbe probe) =>
        {
            probe.Ran();
            return default(NoResult);
        }, new TaskOptions { IgnoreResult = true }),
        app.Task<int, int, int>(AddName, (int x, int y) => x + y));
}
