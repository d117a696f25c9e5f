using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fennel.Interop.Tests;

/// <summary>
/// Compares JSON values the way Python compares what <c>json.loads</c> makes of them, plus the type: an int and a float
/// are different even when equal (<c>3</c> is not <c>3.0</c>), ints are exact at any size, strings compare by their
/// characters however they were escaped.
/// </summary>
internal static class PythonValues
{
    public static bool AreSame(JsonNode? expected, JsonNode? actual) => (expected, actual) switch
    {
        (null, null) => true,
        (JsonObject e, JsonObject a) => e.Count == a.Count && e.All(p => a.ContainsKey(p.Key) && AreSame(p.Value, a[p.Key])),
        (JsonArray e, JsonArray a) => e.Count == a.Count && e.Zip(a).All(p => AreSame(p.First, p.Second)),
        (JsonValue e, JsonValue a) => SameValue(e, a),
        _ => false,
    };

    /// <summary>Python's type name for a JSON value: <c>int</c>, <c>float</c>, <c>str</c>, <c>dict</c>, ...</summary>
    public static string TypeName(JsonNode? node) => node switch
    {
        null => "NoneType",
        JsonObject => "dict",
        JsonArray => "list",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "str",
            JsonValueKind.True or JsonValueKind.False => "bool",
            JsonValueKind.Number => IsFloat(node.ToJsonString()) ? "float" : "int",
            _ => "NoneType",
        },
    };

    /// <summary>The value for messages: JSON with non-ASCII shown as is.</summary>
    public static string Show(JsonNode? node) => node is null ? "null" : node.ToJsonString(ShowOptions);

    private static readonly JsonSerializerOptions ShowOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static bool SameValue(JsonValue expected, JsonValue actual)
    {
        var kind = expected.GetValueKind();
        if (kind != actual.GetValueKind()) return false;
        switch (kind)
        {
            case JsonValueKind.String:
                return expected.GetValue<string>() == actual.GetValue<string>();
            case JsonValueKind.Number:
                var e = expected.ToJsonString();
                var a = actual.ToJsonString();
                if (IsFloat(e) != IsFloat(a)) return false;
                return IsFloat(e)
                    ? double.Parse(e, NumberStyles.Float, CultureInfo.InvariantCulture) == double.Parse(a, NumberStyles.Float, CultureInfo.InvariantCulture)
                    : BigInteger.Parse(e, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) == BigInteger.Parse(a, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            default:
                return true; // true, false, null: the kind is the value
        }
    }

    private static bool IsFloat(string number) => number.AsSpan().IndexOfAny(".eE") >= 0;
}
