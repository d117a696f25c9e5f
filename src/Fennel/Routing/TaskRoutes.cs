using System.Text.RegularExpressions;

namespace Fennel.Routing;

/// <summary>
/// The app's routers in the order they were added; the first non-null answer wins. A task no router claims goes to the
/// default queue (<c>celery</c>). Call options (<see cref="Tasks.CallOptions.Queue"/>) override every router.
/// </summary>
public sealed class TaskRoutes
{
    private readonly List<ITaskRouter> _routers = [];
    private readonly Lock _gate = new();
    private ITaskRouter[] _snapshot = [];

    internal TaskRoutes(string defaultQueue) => DefaultQueue = defaultQueue;

    /// <summary>The queue of tasks no router claims.</summary>
    public string DefaultQueue { get; }

    /// <summary>The routers, in order.</summary>
    public IReadOnlyList<ITaskRouter> Routers => _snapshot;

    /// <summary>Adds a router class.</summary>
    public TaskRoutes Add(ITaskRouter router)
    {
        ArgumentNullException.ThrowIfNull(router);
        lock (_gate)
        {
            _routers.Add(router);
            _snapshot = [.. _routers];
        }
        return this;
    }

    /// <summary>Adds a glob or exact-name route: <c>customers.*</c> → <c>customers</c>.</summary>
    public TaskRoutes Add(string pattern, string queue) => Add(new GlobRouter(pattern, queue));

    /// <summary>Adds a regular-expression route.</summary>
    public TaskRoutes Add(Regex regex, string queue) => Add(new RegexRouter(regex, queue));

    /// <summary>The queue for a task: the first router's answer, else the default queue.</summary>
    public string Resolve(string taskName)
    {
        foreach (var router in _snapshot)
        {
            if (router.RouteForTask(taskName) is { Length: > 0 } queue) return queue;
        }
        return DefaultQueue;
    }
}
