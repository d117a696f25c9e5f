using Fennel.Calling;
using Fennel.Tasks;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel;

// Registering tasks. A handler's parameters are the message arguments, in order, except those of type
// CancellationToken, TaskContext, or a type registered as a service, which the worker supplies.
public sealed partial class FennelApp
{
    /// <summary>
    /// Registers a task whose arguments are checked by the worker: <c>app.Task("tasks.add", (int x, int y) =&gt; x + y)</c>.
    /// Handler parameters of type <see cref="CancellationToken"/>, <see cref="TaskContext"/> or a registered service
    /// are supplied by the worker; the others are the message arguments, in order.
    /// </summary>
    public TaskHandle Task(string name, Delegate handler, TaskOptions? options = null)
    {
        Register(name, handler, options, null, null);
        return new TaskHandle(name, Client);
    }

    /// <summary>
    /// Registers a task whose calls are checked by the compiler: the handler's message arguments must be
    /// none and its result <typeparamref name="TResult"/> (<see cref="NoResult"/> for none).
    /// Services, <see cref="CancellationToken"/> and <see cref="TaskContext"/> parameters may stand anywhere.
    /// </summary>
    /// <typeparam name="TResult">The result type.</typeparam>
    public TaskHandle<TResult> Task<TResult>(string name, Delegate handler, TaskOptions? options = null)
    {
        Register(name, handler, options, [], typeof(TResult));
        return new TaskHandle<TResult>(name, Client);
    }

    /// <summary>
    /// Registers a task whose calls are checked by the compiler: the handler's message arguments must be
    /// exactly T1 and its result <typeparamref name="TResult"/> (<see cref="NoResult"/> for none).
    /// Services, <see cref="CancellationToken"/> and <see cref="TaskContext"/> parameters may stand anywhere.
    /// </summary>
    /// <typeparam name="T1">Message argument 1.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public TaskHandle<T1, TResult> Task<T1, TResult>(string name, Delegate handler, TaskOptions? options = null)
    {
        Register(name, handler, options, [typeof(T1)], typeof(TResult));
        return new TaskHandle<T1, TResult>(name, Client);
    }

    /// <summary>
    /// Registers a task whose calls are checked by the compiler: the handler's message arguments must be
    /// exactly T1, T2 and its result <typeparamref name="TResult"/> (<see cref="NoResult"/> for none).
    /// Services, <see cref="CancellationToken"/> and <see cref="TaskContext"/> parameters may stand anywhere.
    /// </summary>
    /// <typeparam name="T1">Message argument 1.</typeparam>
    /// <typeparam name="T2">Message argument 2.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public TaskHandle<T1, T2, TResult> Task<T1, T2, TResult>(string name, Delegate handler, TaskOptions? options = null)
    {
        Register(name, handler, options, [typeof(T1), typeof(T2)], typeof(TResult));
        return new TaskHandle<T1, T2, TResult>(name, Client);
    }

    /// <summary>
    /// Registers a task whose calls are checked by the compiler: the handler's message arguments must be
    /// exactly T1, T2, T3 and its result <typeparamref name="TResult"/> (<see cref="NoResult"/> for none).
    /// Services, <see cref="CancellationToken"/> and <see cref="TaskContext"/> parameters may stand anywhere.
    /// </summary>
    /// <typeparam name="T1">Message argument 1.</typeparam>
    /// <typeparam name="T2">Message argument 2.</typeparam>
    /// <typeparam name="T3">Message argument 3.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public TaskHandle<T1, T2, T3, TResult> Task<T1, T2, T3, TResult>(string name, Delegate handler, TaskOptions? options = null)
    {
        Register(name, handler, options, [typeof(T1), typeof(T2), typeof(T3)], typeof(TResult));
        return new TaskHandle<T1, T2, T3, TResult>(name, Client);
    }

    /// <summary>
    /// Registers a task whose calls are checked by the compiler: the handler's message arguments must be
    /// exactly T1, T2, T3, T4 and its result <typeparamref name="TResult"/> (<see cref="NoResult"/> for none).
    /// Services, <see cref="CancellationToken"/> and <see cref="TaskContext"/> parameters may stand anywhere.
    /// </summary>
    /// <typeparam name="T1">Message argument 1.</typeparam>
    /// <typeparam name="T2">Message argument 2.</typeparam>
    /// <typeparam name="T3">Message argument 3.</typeparam>
    /// <typeparam name="T4">Message argument 4.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public TaskHandle<T1, T2, T3, T4, TResult> Task<T1, T2, T3, T4, TResult>(string name, Delegate handler, TaskOptions? options = null)
    {
        Register(name, handler, options, [typeof(T1), typeof(T2), typeof(T3), typeof(T4)], typeof(TResult));
        return new TaskHandle<T1, T2, T3, T4, TResult>(name, Client);
    }

    private void Register(string name, Delegate handler, TaskOptions? options, Type[]? argumentTypes, Type? resultType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(handler);
        var invoker = new TaskInvoker(name, handler, Services.GetService<IServiceProviderIsService>(), Json, options);
        if (argumentTypes is not null && !invoker.ArgumentTypes.SequenceEqual(argumentTypes))
        {
            throw new FennelConfigurationException(
                $"Task '{name}' is declared with arguments ({string.Join(", ", argumentTypes.Select(t => t.Name))}) but its handler takes " +
                $"({string.Join(", ", invoker.ArgumentTypes.Select(t => t.Name))}). Services must be registered before Build() to be injected.");
        }
        if (resultType is not null)
        {
            var actual = invoker.ResultType == typeof(void) ? typeof(NoResult) : invoker.ResultType;
            if (actual != resultType)
            {
                throw new FennelConfigurationException($"Task '{name}' is declared to return {resultType.Name} but its handler returns {actual.Name}.");
            }
        }
        Tasks.Add(new TaskDefinition(name, options ?? new TaskOptions(), invoker));
    }
}
