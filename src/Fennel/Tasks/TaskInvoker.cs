using System.Linq.Expressions;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Tasks;

/// <summary>
/// Calls a task handler with arguments from a message. Built once per task: the handler's parameters are sorted into
/// message arguments, DI services, the <see cref="CancellationToken"/> and the <see cref="TaskContext"/>, and the call
/// is compiled to a delegate, so running a task needs no reflection.
/// </summary>
internal sealed class TaskInvoker
{
    private readonly string _taskName;
    private readonly Binding[] _bindings;
    private readonly ArgumentParameter[] _arguments;
    private readonly Func<object?[], object?> _call;
    private readonly Func<object?, ValueTask<object?>> _await;
    private readonly JsonSerializerOptions _json;

    public TaskInvoker(string taskName, Delegate handler, IServiceProviderIsService? isService, JsonSerializerOptions json,
        TaskOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _taskName = taskName;
        _json = json;
        var method = handler.Method;
        var parameters = method.GetParameters();
        _bindings = new Binding[parameters.Length];
        var arguments = new List<ArgumentParameter>();
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var type = p.ParameterType;
            if (type == typeof(CancellationToken)) _bindings[i] = new Binding(BindingKind.CancellationToken, 0, type);
            else if (type == typeof(TaskContext)) _bindings[i] = new Binding(BindingKind.Context, 0, type);
            else if (IsServiceType(type, isService)) _bindings[i] = new Binding(BindingKind.Service, 0, type);
            else
            {
                _bindings[i] = new Binding(BindingKind.Argument, arguments.Count, type);
                arguments.Add(new ArgumentParameter(p.Name ?? $"arg{i}", type, p.HasDefaultValue, p.HasDefaultValue ? p.DefaultValue : null,
                    SnakeCase(p.Name ?? ""), p.IsDefined(typeof(SensitiveAttribute), inherit: false)));
            }
        }
        _arguments = [.. arguments];
        Redaction = ArgumentRedaction.For(taskName, [.. _arguments.Select(a => (a.Name, a.SnakeName, a.Sensitive))],
            options?.Sensitive ?? false, options?.SensitiveArguments ?? []);
        ResultType = UnwrapResultType(method.ReturnType);
        _call = Compile(handler, parameters);
        _await = BuildAwaiter(method.ReturnType);
    }

    /// <summary>The message argument types, in order.</summary>
    public IReadOnlyList<Type> ArgumentTypes => [.. _arguments.Select(a => a.Type)];

    /// <summary>Which arguments are shown as <c>'***'</c>; null when none is sensitive.</summary>
    public ArgumentRedaction? Redaction { get; }

    /// <summary>The value type the task produces (<see cref="void"/> for none).</summary>
    public Type ResultType { get; }

    /// <summary>A readable signature for errors and <c>registered</c>: <c>customers.send_welcome(customer_id: Int32)</c>.</summary>
    public string Signature => $"{_taskName}({string.Join(", ", _arguments.Select(a => $"{a.Name}: {a.Type.Name}"))})";

    /// <summary>Binds the message's arguments; throws <see cref="TaskArgumentException"/> when they do not fit.</summary>
    public object?[] BindArguments(JsonArray args, JsonObject kwargs)
    {
        if (args.Count > _arguments.Length)
        {
            throw new TaskArgumentException($"{Signature} takes {_arguments.Length} argument(s) but the message has {args.Count} positional argument(s).");
        }
        var values = new object?[_arguments.Length];
        var bound = new bool[_arguments.Length];
        for (var i = 0; i < args.Count; i++)
        {
            values[i] = Convert(args[i], _arguments[i]);
            bound[i] = true;
        }
        foreach (var (key, node) in kwargs)
        {
            var index = Array.FindIndex(_arguments, a => a.Name == key || a.SnakeName == key
                || string.Equals(a.Name, key, StringComparison.OrdinalIgnoreCase));
            if (index < 0) throw new TaskArgumentException($"{Signature} got an unexpected keyword argument '{key}'.");
            if (bound[index]) throw new TaskArgumentException($"{Signature} got multiple values for argument '{key}'.");
            values[index] = Convert(node, _arguments[index]);
            bound[index] = true;
        }
        for (var i = 0; i < _arguments.Length; i++)
        {
            if (bound[i]) continue;
            if (!_arguments[i].HasDefault) throw new TaskArgumentException($"{Signature} is missing the required argument '{_arguments[i].Name}'.");
            values[i] = _arguments[i].Default;
        }
        return values;
    }

    /// <summary>Runs the handler with bound arguments and returns its result as JSON.</summary>
    public async ValueTask<JsonNode?> InvokeAsync(object?[] arguments, IServiceProvider services, TaskContext context, CancellationToken cancellationToken)
    {
        var values = new object?[_bindings.Length];
        for (var i = 0; i < _bindings.Length; i++)
        {
            var b = _bindings[i];
            values[i] = b.Kind switch
            {
                BindingKind.Argument => arguments[b.Index],
                BindingKind.CancellationToken => cancellationToken,
                BindingKind.Context => context,
                _ => services.GetRequiredService(b.Type),
            };
        }
        var returned = await _await(_call(values)).ConfigureAwait(false);
        return ResultType == typeof(void) || returned is null ? null : JsonSerializer.SerializeToNode(returned, ResultType, _json);
    }

    private object? Convert(JsonNode? node, ArgumentParameter parameter)
    {
        if (parameter.Type == typeof(JsonNode) || parameter.Type == typeof(object)) return node?.DeepClone();
        try
        {
            var value = node is null ? null : node.Deserialize(parameter.Type, _json);
            if (value is null && parameter.Type.IsValueType && Nullable.GetUnderlyingType(parameter.Type) is null)
            {
                throw new TaskArgumentException($"{Signature}: argument '{parameter.Name}' cannot be null (None).");
            }
            return value;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or NotSupportedException)
        {
            throw new TaskArgumentException(
                $"{Signature}: argument '{parameter.Name}' expects {parameter.Type.Name} but got {Shown(node, parameter)}.", ex);
        }
    }

    /// <summary>An argument's value for an error message: its JSON, or <c>'***'</c> when it is sensitive.</summary>
    private string Shown(JsonNode? node, ArgumentParameter parameter) =>
        Redaction?.IsSensitive(parameter.Name, Array.IndexOf(_arguments, parameter)) == true ? "'***'" : node?.ToJsonString() ?? "null";

    private static bool IsServiceType(Type type, IServiceProviderIsService? isService)
    {
        if (type.IsPrimitive || type == typeof(string) || type == typeof(decimal) || type.IsEnum || type.IsArray) return false;
        if (typeof(IServiceProvider) == type) return true;
        return isService?.IsService(type) == true;
    }

    private static Func<object?[], object?> Compile(Delegate handler, ParameterInfo[] parameters)
    {
        var values = Expression.Parameter(typeof(object?[]), "values");
        var args = parameters.Select((p, i) =>
            (Expression)Expression.Convert(Expression.ArrayIndex(values, Expression.Constant(i)), p.ParameterType));
        var call = Expression.Invoke(Expression.Constant(handler), args);
        Expression body = handler.Method.ReturnType == typeof(void)
            ? Expression.Block(call, Expression.Constant(null, typeof(object)))
            : Expression.Convert(call, typeof(object));
        return Expression.Lambda<Func<object?[], object?>>(body, values).Compile();
    }

    private static Type UnwrapResultType(Type returnType)
    {
        if (returnType == typeof(Task) || returnType == typeof(ValueTask)) return typeof(void);
        if (returnType.IsGenericType)
        {
            var definition = returnType.GetGenericTypeDefinition();
            if (definition == typeof(Task<>) || definition == typeof(ValueTask<>)) return returnType.GetGenericArguments()[0];
        }
        return returnType;
    }

    private static Func<object?, ValueTask<object?>> BuildAwaiter(Type returnType)
    {
        if (returnType == typeof(Task)) return AwaitTask;
        if (returnType == typeof(ValueTask)) return AwaitValueTask;
        if (returnType.IsGenericType)
        {
            var definition = returnType.GetGenericTypeDefinition();
            var name = definition == typeof(Task<>) ? nameof(AwaitTaskOf) : definition == typeof(ValueTask<>) ? nameof(AwaitValueTaskOf) : null;
            if (name is not null)
            {
                return typeof(TaskInvoker).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!
                    .MakeGenericMethod(returnType.GetGenericArguments()[0])
                    .CreateDelegate<Func<object?, ValueTask<object?>>>();
            }
        }
        return static value => ValueTask.FromResult(value);
    }

    private static async ValueTask<object?> AwaitTask(object? task)
    {
        await ((Task)task!).ConfigureAwait(false);
        return null;
    }

    private static async ValueTask<object?> AwaitValueTask(object? task)
    {
        await ((ValueTask)task!).ConfigureAwait(false);
        return null;
    }

    private static async ValueTask<object?> AwaitTaskOf<T>(object? task) => await ((Task<T>)task!).ConfigureAwait(false);

    private static async ValueTask<object?> AwaitValueTaskOf<T>(object? task) => await ((ValueTask<T>)task!).ConfigureAwait(false);

    private static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private enum BindingKind { Argument, Service, CancellationToken, Context }

    private readonly record struct Binding(BindingKind Kind, int Index, Type Type);

    private sealed record ArgumentParameter(string Name, Type Type, bool HasDefault, object? Default, string SnakeName, bool Sensitive);
}
