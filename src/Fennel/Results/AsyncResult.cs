using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Results;

/// <summary>The handle of a sent task: its id, and the way to its state and result.</summary>
public class AsyncResult
{
    private readonly IResultStore _store;

    /// <summary>Creates a handle for a task id.</summary>
    public AsyncResult(string id, IResultStore store, JsonSerializerOptions json)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        Id = id;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        Json = json;
    }

    /// <summary>The task id.</summary>
    public string Id { get; }

    /// <summary>The client that made this handle (it can revoke); null for a handle made with the constructor.</summary>
    internal Calling.FennelClient? Client { get; init; }

    /// <summary>
    /// Revokes the task: a worker that receives it later skips it (REVOKED), and with <paramref name="terminate"/> a worker
    /// running it stops it. Durable where the broker allows; see <see cref="Calling.FennelClient.RevokeAsync(string, bool, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The handle was made with its constructor, not by a <see cref="Calling.FennelClient"/>.</exception>
    public Task RevokeAsync(bool terminate = false, CancellationToken cancellationToken = default) =>
        (Client ?? throw new InvalidOperationException(
            $"The handle of task {Id} was made without a client, so it cannot revoke; use app.Client.GetResult(\"{Id}\").RevokeAsync() or app.Client.RevokeAsync(...).")
        ).RevokeAsync(Id, terminate, cancellationToken);

    /// <summary>The serializer options used to read the result.</summary>
    protected JsonSerializerOptions Json { get; }

    /// <summary>The current state; PENDING when nothing is stored yet.</summary>
    public async Task<TaskState> GetStateAsync(CancellationToken cancellationToken = default) =>
        (await _store.GetAsync(Id, cancellationToken).ConfigureAwait(false))?.State ?? TaskState.Pending;

    /// <summary>What is stored now, or null (PENDING).</summary>
    public Task<TaskResult?> GetStoredAsync(CancellationToken cancellationToken = default) => _store.GetAsync(Id, cancellationToken);

    /// <summary>
    /// Waits for the task to finish and returns its value as JSON.
    /// Throws <see cref="TaskFailedException"/> when it failed or was revoked, <see cref="TimeoutException"/> after
    /// <paramref name="timeout"/>.
    /// </summary>
    public async Task<JsonNode?> GetJsonAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var result = await WaitReadyAsync(timeout, throwOnFailure: true, cancellationToken).ConfigureAwait(false);
        return result.Result;
    }

    /// <summary>
    /// Waits for the task to finish and returns its value as <typeparamref name="T"/>.
    /// Throws <see cref="TaskFailedException"/> (with the remote exception type, message and traceback) when it failed or
    /// was revoked, and <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public async Task<T> GetAsync<T>(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var result = await WaitReadyAsync(timeout, throwOnFailure: true, cancellationToken).ConfigureAwait(false);
        try
        {
            return result.Result is null ? default! : result.Result.Deserialize<T>(Json)!;
        }
        catch (JsonException ex)
        {
            throw new FennelException($"Task {Id} returned {result.Result?.ToJsonString()}, which is not a {typeof(T).Name}.", ex);
        }
    }

    /// <summary>Waits for the task to finish and returns the stored result, failed or not (no exception for FAILURE).</summary>
    public Task<TaskResult> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitReadyAsync(timeout, throwOnFailure: false, cancellationToken);

    /// <summary>Waits until the task is ready; with <paramref name="throwOnFailure"/> throws for FAILURE and REVOKED.</summary>
    private async Task<TaskResult> WaitReadyAsync(TimeSpan timeout, bool throwOnFailure, CancellationToken cancellationToken)
    {
        TaskResult result;
        try
        {
            result = await _store.WaitAsync(Id, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Task {Id} did not finish within {timeout.TotalSeconds:0.###} s (state: " +
                $"{(await GetStateAsync(cancellationToken).ConfigureAwait(false)).ToWire()}). Is a worker consuming its queue?", ex);
        }
        if (throwOnFailure && result.State != TaskState.Success) throw new TaskFailedException(result);
        return result;
    }

    /// <inheritdoc />
    public override string ToString() => Id;
}

/// <summary>The handle of a sent task whose result type is known.</summary>
/// <typeparam name="T">The result type.</typeparam>
public sealed class AsyncResult<T> : AsyncResult
{
    /// <summary>Creates a handle for a task id.</summary>
    public AsyncResult(string id, IResultStore store, JsonSerializerOptions json) : base(id, store, json) { }

    /// <summary>
    /// Waits for the task to finish and returns its value.
    /// Throws <see cref="TaskFailedException"/> (with the remote exception type, message and traceback) when it failed or
    /// was revoked, and <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public Task<T> GetAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => GetAsync<T>(timeout, cancellationToken);
}
