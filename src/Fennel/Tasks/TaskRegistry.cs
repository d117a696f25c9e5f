using System.Collections.Concurrent;

namespace Fennel.Tasks;

/// <summary>The tasks this app can run, by name.</summary>
public sealed class TaskRegistry
{
    private readonly ConcurrentDictionary<string, TaskDefinition> _tasks = new(StringComparer.Ordinal);

    /// <summary>The registered tasks.</summary>
    public IReadOnlyCollection<TaskDefinition> All => [.. _tasks.Values.OrderBy(t => t.Name, StringComparer.Ordinal)];

    /// <summary>Finds a task by name.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TaskDefinition? task) =>
        _tasks.TryGetValue(name, out task);

    internal void Add(TaskDefinition task)
    {
        if (!_tasks.TryAdd(task.Name, task))
        {
            throw new FennelConfigurationException($"A task named '{task.Name}' is already registered; task names must be unique.");
        }
    }
}
