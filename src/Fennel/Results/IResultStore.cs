namespace Fennel.Results;

/// <summary>Where workers write task outcomes and callers read them.</summary>
public interface IResultStore : IAsyncDisposable
{
    /// <summary>Stores (or replaces) the result of a task; it expires after <paramref name="expires"/>.</summary>
    Task StoreAsync(TaskResult result, TimeSpan expires, CancellationToken cancellationToken = default);

    /// <summary>The stored result, or null when there is none (PENDING) or it expired.</summary>
    Task<TaskResult?> GetAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the task is ready (SUCCESS, FAILURE or REVOKED) and returns its result.
    /// Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    Task<TaskResult> WaitAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Deletes a stored result.</summary>
    Task ForgetAsync(string taskId, CancellationToken cancellationToken = default);
}
