using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Results;
using Fennel.Tasks;

namespace Fennel.Calling;

/// <summary>A task whose arguments and result are known to the compiler: <c>app.Task&lt;TResult&gt;(name, handler)</c>.</summary>
/// <typeparam name="TResult">The result type (<see cref="NoResult"/> for none).</typeparam>
public sealed class TaskHandle<TResult>
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

    /// <summary>Sends the task; completes when the broker holds the message.</summary>
    /// <param name="options">Countdown, ETA, expiry, priority, queue, task id, headers, time limits.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public async Task<AsyncResult<TResult>> DelayAsync(CallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var args = new JsonArray();
        var result = await Client.SendTaskAsync(Name, args, null, options, cancellationToken).ConfigureAwait(false);
        return Client.GetResult<TResult>(result.Id);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A task whose arguments and result are known to the compiler: <c>app.Task&lt;T1, TResult&gt;(name, handler)</c>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="TResult">The result type (<see cref="NoResult"/> for none).</typeparam>
public sealed class TaskHandle<T1, TResult>
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

    /// <summary>Sends the task; completes when the broker holds the message.</summary>
    /// <param name="arg1">Argument 1.</param>
    /// <param name="options">Countdown, ETA, expiry, priority, queue, task id, headers, time limits.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public async Task<AsyncResult<TResult>> DelayAsync(T1 arg1, CallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var args = new JsonArray();
        args.Add(JsonSerializer.SerializeToNode(arg1, Client.Json));
        var result = await Client.SendTaskAsync(Name, args, null, options, cancellationToken).ConfigureAwait(false);
        return Client.GetResult<TResult>(result.Id);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A task whose arguments and result are known to the compiler: <c>app.Task&lt;T1, T2, TResult&gt;(name, handler)</c>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="T2">The type of argument 2.</typeparam>
/// <typeparam name="TResult">The result type (<see cref="NoResult"/> for none).</typeparam>
public sealed class TaskHandle<T1, T2, TResult>
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

    /// <summary>Sends the task; completes when the broker holds the message.</summary>
    /// <param name="arg1">Argument 1.</param>
    /// <param name="arg2">Argument 2.</param>
    /// <param name="options">Countdown, ETA, expiry, priority, queue, task id, headers, time limits.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public async Task<AsyncResult<TResult>> DelayAsync(T1 arg1, T2 arg2, CallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var args = new JsonArray();
        args.Add(JsonSerializer.SerializeToNode(arg1, Client.Json));
        args.Add(JsonSerializer.SerializeToNode(arg2, Client.Json));
        var result = await Client.SendTaskAsync(Name, args, null, options, cancellationToken).ConfigureAwait(false);
        return Client.GetResult<TResult>(result.Id);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A task whose arguments and result are known to the compiler: <c>app.Task&lt;T1, T2, T3, TResult&gt;(name, handler)</c>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="T2">The type of argument 2.</typeparam>
/// <typeparam name="T3">The type of argument 3.</typeparam>
/// <typeparam name="TResult">The result type (<see cref="NoResult"/> for none).</typeparam>
public sealed class TaskHandle<T1, T2, T3, TResult>
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

    /// <summary>Sends the task; completes when the broker holds the message.</summary>
    /// <param name="arg1">Argument 1.</param>
    /// <param name="arg2">Argument 2.</param>
    /// <param name="arg3">Argument 3.</param>
    /// <param name="options">Countdown, ETA, expiry, priority, queue, task id, headers, time limits.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public async Task<AsyncResult<TResult>> DelayAsync(T1 arg1, T2 arg2, T3 arg3, CallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var args = new JsonArray();
        args.Add(JsonSerializer.SerializeToNode(arg1, Client.Json));
        args.Add(JsonSerializer.SerializeToNode(arg2, Client.Json));
        args.Add(JsonSerializer.SerializeToNode(arg3, Client.Json));
        var result = await Client.SendTaskAsync(Name, args, null, options, cancellationToken).ConfigureAwait(false);
        return Client.GetResult<TResult>(result.Id);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A task whose arguments and result are known to the compiler: <c>app.Task&lt;T1, T2, T3, T4, TResult&gt;(name, handler)</c>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="T2">The type of argument 2.</typeparam>
/// <typeparam name="T3">The type of argument 3.</typeparam>
/// <typeparam name="T4">The type of argument 4.</typeparam>
/// <typeparam name="TResult">The result type (<see cref="NoResult"/> for none).</typeparam>
public sealed class TaskHandle<T1, T2, T3, T4, TResult>
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

    /// <summary>Sends the task; completes when the broker holds the message.</summary>
    /// <param name="arg1">Argument 1.</param>
    /// <param name="arg2">Argument 2.</param>
    /// <param name="arg3">Argument 3.</param>
    /// <param name="arg4">Argument 4.</param>
    /// <param name="options">Countdown, ETA, expiry, priority, queue, task id, headers, time limits.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public async Task<AsyncResult<TResult>> DelayAsync(T1 arg1, T2 arg2, T3 arg3, T4 arg4, CallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var args = new JsonArray();
        args.Add(JsonSerializer.SerializeToNode(arg1, Client.Json));
        args.Add(JsonSerializer.SerializeToNode(arg2, Client.Json));
        args.Add(JsonSerializer.SerializeToNode(arg3, Client.Json));
        args.Add(JsonSerializer.SerializeToNode(arg4, Client.Json));
        var result = await Client.SendTaskAsync(Name, args, null, options, cancellationToken).ConfigureAwait(false);
        return Client.GetResult<TResult>(result.Id);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
