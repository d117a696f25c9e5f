using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Python;

/// <summary>
/// Python's <c>repr()</c> of JSON values, for the <c>argsrepr</c> / <c>kwargsrepr</c> headers and event fields
/// that monitors (Flower, <c>celery events</c>, Fennel's dashboard) show: <c>(2, 3)</c>, <c>{'greeting': 'Hi'}</c>.
/// </summary>
internal static class PythonRepr
{
    /// <summary>The longest repr kept, as Celery's <c>argsrepr_maxsize</c> (1024); longer ones end with <c>...</c>.</summary>
    public const int MaxLength = 1024;

    /// <summary>Positional arguments as a Python tuple: <c>()</c>, <c>(7,)</c>, <c>(2, 3)</c>.</summary>
    public static string Args(JsonArray args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var sb = new StringBuilder("(");
        for (var i = 0; i < args.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            Append(sb, args[i]);
            if (sb.Length > MaxLength) break;
        }
        if (args.Count == 1) sb.Append(',');
        sb.Append(')');
        return Truncate(sb);
    }

    /// <summary>Keyword arguments as a Python dict: <c>{'greeting': 'Hi'}</c>.</summary>
    public static string Kwargs(JsonObject kwargs)
    {
        ArgumentNullException.ThrowIfNull(kwargs);
        var sb = new StringBuilder();
        Append(sb, kwargs);
        return Truncate(sb);
    }

    /// <summary>Any JSON value as Python would print it.</summary>
    public static string Of(JsonNode? value)
    {
        var sb = new StringBuilder();
        Append(sb, value);
        return Truncate(sb);
    }

    private static string Truncate(StringBuilder sb) => sb.Length <= MaxLength ? sb.ToString() : sb.ToString(0, MaxLength - 3) + "...";

    private static void Append(StringBuilder sb, JsonNode? node)
    {
        if (sb.Length > MaxLength) return;
        switch (node)
        {
            case null:
                sb.Append("None");
                break;
            case JsonArray array:
                sb.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Append(sb, array[i]);
                    if (sb.Length > MaxLength) return;
                }
                sb.Append(']');
                break;
            case JsonObject obj:
                sb.Append('{');
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendString(sb, key);
                    sb.Append(": ");
                    Append(sb, value);
                    if (sb.Length > MaxLength) return;
                }
                sb.Append('}');
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String: AppendString(sb, value.GetValue<string>()); break;
                    case JsonValueKind.True: sb.Append("True"); break;
                    case JsonValueKind.False: sb.Append("False"); break;
                    case JsonValueKind.Null: sb.Append("None"); break;
                    default: sb.Append(value.ToJsonString()); break;
                }
                break;
        }
    }

    private static void AppendString(StringBuilder sb, string s)
    {
        var quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        sb.Append(quote);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append(quote);
    }
}
