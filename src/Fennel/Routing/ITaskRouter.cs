namespace Fennel.Routing;

/// <summary>
/// Picks the queue of a task by its name, as Celery's router classes do with <c>route_for_task</c>.
/// Return null to let the next router decide.
/// </summary>
public interface ITaskRouter
{
    /// <summary>The queue for <paramref name="taskName"/>, or null when this router has no opinion.</summary>
    string? RouteForTask(string taskName);
}
