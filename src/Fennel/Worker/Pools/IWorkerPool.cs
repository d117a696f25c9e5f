using System.Text.Json.Nodes;

namespace Fennel.Worker.Pools;

/// <summary>
/// Where a task's handler runs. The worker bounds how many run at once (its concurrency); the pool decides on which
/// threads: the shared thread pool (<see cref="AsyncPool"/>) or threads of its own (<see cref="ThreadsPool"/>).
/// </summary>
internal interface IWorkerPool : IDisposable
{
    /// <summary>The pool's name as <c>-P</c> spells it.</summary>
    string Name { get; }

    /// <summary>Runs a handler and returns its result.</summary>
    ValueTask<JsonNode?> RunAsync(Func<ValueTask<JsonNode?>> handler);
}
