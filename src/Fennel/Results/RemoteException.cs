using System.Reflection;
using System.Text.Json.Nodes;

namespace Fennel.Results;

/// <summary>An exception as the result store keeps it: type, message, module and traceback.</summary>
/// <param name="Type">The exception type name (<c>ValueError</c>, <c>InvalidOperationException</c>).</param>
/// <param name="Message">The exception message.</param>
/// <param name="Module">The Python module or .NET namespace of the type (<c>builtins</c>, <c>System</c>).</param>
/// <param name="Traceback">The Python traceback or .NET stack trace, when stored.</param>
public sealed record RemoteException(string Type, string Message, string? Module, string? Traceback)
{
    /// <summary>
    /// Describes a .NET exception for the result store: its type name and namespace, or the remote type its class
    /// declares with <see cref="RemoteExceptionTypeAttribute"/>.
    /// </summary>
    public static RemoteException From(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var type = exception.GetType();
        var declared = type.GetCustomAttribute<RemoteExceptionTypeAttribute>(inherit: false);
        return declared is null
            ? new RemoteException(type.Name, exception.Message, type.Namespace, exception.ToString())
            : new RemoteException(declared.Type, exception.Message, declared.Module, exception.ToString());
    }

    /// <summary>The <c>{"exc_type", "exc_message": [message], "exc_module"}</c> object Celery stores as the result.</summary>
    public JsonObject ToResultJson() => new()
    {
        ["exc_type"] = Type,
        ["exc_message"] = new JsonArray(Message),
        ["exc_module"] = Module,
    };

    /// <summary>Reads Celery's exception object; null when <paramref name="result"/> is not one.</summary>
    public static RemoteException? FromResult(JsonNode? result, string? traceback)
    {
        if (result is not JsonObject obj || obj["exc_type"] is not JsonValue typeNode || !typeNode.TryGetValue(out string? type))
        {
            return null;
        }
        var message = obj["exc_message"] switch
        {
            JsonArray { Count: 1 } one when one[0] is JsonValue v && v.TryGetValue(out string? s) => s,
            JsonArray many => string.Join(", ", many.Select(m => m is JsonValue mv && mv.TryGetValue(out string? ms) ? ms : m?.ToJsonString() ?? "None")),
            JsonValue v when v.TryGetValue(out string? s) => s,
            null => "",
            var other => other.ToJsonString(),
        };
        var module = obj["exc_module"] is JsonValue m && m.TryGetValue(out string? mod) ? mod : null;
        return new RemoteException(type, message, module, traceback);
    }

    /// <inheritdoc />
    public override string ToString() => Module is null or "builtins" ? $"{Type}: {Message}" : $"{Module}.{Type}: {Message}";
}
