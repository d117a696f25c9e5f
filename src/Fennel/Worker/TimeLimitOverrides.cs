using System.Collections.Concurrent;
using Fennel.Tasks;

namespace Fennel.Worker;

/// <summary>
/// Time limits changed at run time by the <c>time_limit</c> command, by task name: tasks dispatched from then on run with
/// them (a limit set per call in the message still wins).
/// </summary>
internal sealed class TimeLimitOverrides
{
    private readonly ConcurrentDictionary<string, TaskDefinition> _changed = new(StringComparer.Ordinal);

    /// <summary>Gives <paramref name="task"/> these limits (null = none of its own: the worker's default applies).</summary>
    public void Set(TaskDefinition task, TimeSpan? soft, TimeSpan? hard) =>
        _changed[task.Name] = new TaskDefinition(task.Name, task.Options with { SoftTimeLimit = soft, TimeLimit = hard }, task.Invoker);

    /// <summary>The task as the worker runs it now: with the limits set by remote control, if any.</summary>
    public TaskDefinition Apply(TaskDefinition task) => _changed.TryGetValue(task.Name, out var changed) ? changed : task;
}
