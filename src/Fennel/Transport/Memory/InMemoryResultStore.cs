using System.Collections.Concurrent;
using Fennel.Results;

namespace Fennel.Transport.Memory;

/// <summary>Results inside one process (<c>memory://</c>), for unit tests and eager mode. Waiting is a notification, not polling.</summary>
public sealed class InMemoryResultStore : IResultStore
{
    private readonly ConcurrentDictionary<string, (byte[] Json, DateTimeOffset ExpiresAt)> _results = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates an empty store.</summary>
    public InMemoryResultStore(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public Task StoreAsync(TaskResult result, TimeSpan expires, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        // Stored as the bytes a real store keeps, so tests exercise the codec too.
        _results[result.TaskId] = (TaskResultCodec.Encode(result), _time.GetUtcNow() + expires);
        if (result.State.IsReady() && _waiters.TryRemove(result.TaskId, out var waiter)) waiter.TrySetResult();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<TaskResult?> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        if (_results.TryGetValue(taskId, out var stored))
        {
            if (stored.ExpiresAt > _time.GetUtcNow()) return Task.FromResult<TaskResult?>(TaskResultCodec.Decode(stored.Json, taskId));
            _results.TryRemove(taskId, out _);
        }
        return Task.FromResult<TaskResult?>(null);
    }

    /// <inheritdoc />
    public async Task<TaskResult> WaitAsync(string taskId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            var waiter = _waiters.GetOrAdd(taskId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            if (await GetAsync(taskId, cancellationToken).ConfigureAwait(false) is { } result && result.State.IsReady()) return result;
            try
            {
                await waiter.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Task {taskId} did not finish within {timeout.TotalSeconds:0.###} s.");
            }
        }
    }

    /// <inheritdoc />
    public Task ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        _results.TryRemove(taskId, out _);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
