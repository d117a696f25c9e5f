using System.Text.Json.Nodes;
using Fennel.Results;
using Fennel.Tasks;

namespace Fennel.Calling;

/// <summary>
/// A task called by name: arguments are checked by the worker, not the compiler. What <c>app.Task(name, handler)</c>
/// returns, and what <c>app.Client</c> gives for tasks only other processes know.
/// </summary>
public sealed class TaskHandle
{
    internal TaskHandle(string name, FennelClient client)
    {
        Name = name;
        Client = client;
    }

    /// <summary>The task name.</summary>
    public string Name { get; }

    /// <summary>The client that sends it.</summary>
    public FennelClient Client { get; }

    /// <summary>Sends the task with positional arguments (Celery's <c>delay</c>).</summary>
    public Task<AsyncResult> DelayAsync(params object?[] args) => ApplyAsync(args);

    /// <summary>Sends the task with arguments, keyword arguments and options (Celery's <c>apply_async</c>).</summary>
    public Task<AsyncResult> ApplyAsync(object?[]? args = null, IReadOnlyDictionary<string, object?>? kwargs = null, CallOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        JsonObject? kw = null;
        if (kwargs is not null)
        {
            kw = [];
            foreach (var (key, value) in kwargs) kw[key] = Client.ToJsonArgs(value)[0]?.DeepClone();
        }
        return Client.SendTaskAsync(Name, Client.ToJsonArgs(args ?? []), kw, options, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
