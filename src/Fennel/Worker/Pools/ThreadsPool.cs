using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Fennel.Worker.Pools;

/// <summary>
/// Runs each handler on one of <c>concurrency</c> dedicated threads, so blocking code (synchronous I/O, CPU work,
/// <c>.Result</c>) never starves the shared thread pool the worker itself needs.
/// </summary>
internal sealed class ThreadsPool : IWorkerPool
{
    private readonly BlockingCollection<(Func<ValueTask<JsonNode?>> Handler, TaskCompletionSource<JsonNode?> Done)> _work = new();
    private readonly Thread[] _threads;

    public ThreadsPool(int threads, string nodeName)
    {
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"{nodeName} task thread {i + 1}" };
            _threads[i].Start();
        }
    }

    public string Name => "threads";

    public ValueTask<JsonNode?> RunAsync(Func<ValueTask<JsonNode?>> handler)
    {
        var done = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add((handler, done));
        return new ValueTask<JsonNode?>(done.Task);
    }

    private void Run()
    {
        foreach (var (handler, done) in _work.GetConsumingEnumerable())
        {
            try
            {
                done.SetResult(handler().AsTask().GetAwaiter().GetResult());
            }
            catch (Exception ex)
            {
                done.SetException(ex); // handed to the executor, which records the failure
            }
        }
    }

    public void Dispose() => _work.CompleteAdding();
}
