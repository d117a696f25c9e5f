using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Python;

/// <summary>
/// JSON written as Python's <c>json.dumps</c> writes it (kombu's serializer): <c>", "</c> and <c>": "</c> between items,
/// non-ASCII escaped (<c>ensure_ascii</c>), floats always with a fraction (<c>1.0</c>), so that what Fennel sends on the
/// pidbox is byte for byte what Celery sends, and a float stays a float for Python (<c>hello</c>'s revoke timestamps).
/// </summary>
internal static class PythonJson
{
    public static string Serialize(JsonNode? node)
    {
        var sb = new StringBuilder();
        Append(sb, node);
        return sb.ToString();
    }

    /// <summary>A JSON number that Python reads as a float even when it is whole.</summary>
    public static JsonNode Float(double value) => JsonNode.Parse(FormatFloat(value))!;

    private static void Append(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
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
                }
                sb.Append('}');
                break;
            case JsonArray array:
                sb.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Append(sb, array[i]);
                }
                sb.Append(']');
                break;
            case JsonValue value:
                AppendValue(sb, value);
                break;
        }
    }

    private static void AppendValue(StringBuilder sb, JsonValue value)
    {
        if (value.TryGetValue(out JsonElement element))
        {
            // Parsed from text: strings re-escaped as Python does, numbers kept as written (1.0 stays 1.0).
            if (element.ValueKind == JsonValueKind.String) AppendString(sb, element.GetString()!);
            else sb.Append(element.GetRawText());
            return;
        }
        switch (value.GetValue<object>())
        {
            case string s:
                AppendString(sb, s);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case double d:
                sb.Append(FormatFloat(d));
                break;
            case float f:
                sb.Append(FormatFloat(f));
                break;
            case int or long or short or sbyte or byte or uint or ulong or ushort or decimal:
                sb.Append(((IFormattable)value.GetValue<object>()).ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                sb.Append(value.ToJsonString());
                break;
        }
    }

    private static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E', StringComparison.Ordinal))
        {
            // Python: 1e+16, 1.5e-07
            var parts = text.Split('E');
            var exponent = int.Parse(parts[1], CultureInfo.InvariantCulture);
            return $"{parts[0]}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }
        return text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";
    }

    private static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
