using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Interop;

/// <summary>
/// A JSON number as Python's <c>json.loads</c> reads it, with Python's arithmetic: an <c>int</c> of any size, or a
/// <c>float</c>. A number written with a fraction or an exponent (<c>2.0</c>, <c>1e+16</c>) is a float, any other an
/// int; <c>true</c> and <c>false</c> are the ints 1 and 0 (Python's bool is an int). int with int stays an exact int,
/// anything with a float is a float, as in Python.
/// </summary>
internal readonly struct PythonNumber
{
    private readonly BigInteger _int;
    private readonly double _float;

    private PythonNumber(BigInteger value)
    {
        _int = value;
        IsFloat = false;
    }

    private PythonNumber(double value)
    {
        _float = value;
        IsFloat = true;
    }

    /// <summary>The int 0: where <c>sum()</c> starts.</summary>
    public static PythonNumber Zero { get; } = new(BigInteger.Zero);

    /// <summary>True for a Python float, false for an int.</summary>
    public bool IsFloat { get; }

    /// <summary>The value as a float, as Python's <c>float(x)</c> gives it.</summary>
    /// <exception cref="OverflowError">An int too large for a float.</exception>
    public double ToDouble()
    {
        if (IsFloat) return _float;
        var value = (double)_int;
        return double.IsFinite(value) ? value : throw new OverflowError("int too large to convert to float");
    }

    /// <summary>Reads a task argument; anything but a number (or a bool) is a <see cref="TypeError"/> naming the operation.</summary>
    /// <param name="node">The argument as it came in the message.</param>
    /// <param name="describeTypeError">Builds the message from the argument's Python type name when it is not a number.</param>
    public static PythonNumber FromJson(JsonNode? node, Func<string, string> describeTypeError)
    {
        ArgumentNullException.ThrowIfNull(describeTypeError);
        return TryFromJson(node, out var number) ? number : throw new TypeError(describeTypeError(PythonTypeName(node)));
    }

    /// <summary>Python's name for the type a JSON value becomes: <c>int</c>, <c>float</c>, <c>str</c>, <c>list</c>, ...</summary>
    public static string PythonTypeName(JsonNode? node) => node switch
    {
        null => "NoneType",
        JsonArray => "list",
        JsonObject => "dict",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "str",
            JsonValueKind.True or JsonValueKind.False => "bool",
            JsonValueKind.Number => TryFromJson(node, out var number) && number.IsFloat ? "float" : "int",
            _ => "NoneType",
        },
    };

    /// <summary><c>x + y</c>.</summary>
    public static PythonNumber Add(JsonNode? x, JsonNode? y) => Binary(x, y, "+", static (a, b) => a + b, static (a, b) => a + b);

    /// <summary><c>x * y</c>.</summary>
    public static PythonNumber Multiply(JsonNode? x, JsonNode? y) => Binary(x, y, "*", static (a, b) => a * b, static (a, b) => a * b);

    /// <summary><c>sum(values)</c>: 0 plus every item in turn.</summary>
    public static PythonNumber Sum(JsonNode? values)
    {
        if (values is not JsonArray items) throw new TypeError($"'{PythonTypeName(values)}' object is not iterable");
        var total = Zero;
        foreach (var item in items)
        {
            var current = total;
            total = Combine(total, FromJson(item, type => $"unsupported operand type(s) for +: '{current.TypeName}' and '{type}'"),
                static (a, b) => a + b, static (a, b) => a + b);
        }
        return total;
    }

    /// <summary>
    /// The value as a JSON number Python reads back as the same type: an int exactly, a float always with a fraction or
    /// an exponent (<c>3.0</c>, not <c>3</c>).
    /// </summary>
    /// <exception cref="OverflowError">A float that is infinite or NaN: JSON has no such number.</exception>
    public JsonNode ToJson()
    {
        if (!IsFloat) return JsonNode.Parse(_int.ToString(CultureInfo.InvariantCulture))!;
        if (!double.IsFinite(_float))
        {
            throw new OverflowError($"the result is {(double.IsNaN(_float) ? "nan" : "inf")}, which a JSON result cannot carry");
        }
        var text = _float.ToString("R", CultureInfo.InvariantCulture).ToLowerInvariant();
        if (!text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.Ordinal)) text += ".0";
        return JsonNode.Parse(text)!;
    }

    /// <inheritdoc />
    public override string ToString() => ToJson().ToJsonString();

    private string TypeName => IsFloat ? "float" : "int";

    private static PythonNumber Binary(JsonNode? x, JsonNode? y, string op, Func<BigInteger, BigInteger, BigInteger> ints,
        Func<double, double, double> floats)
    {
        string Describe() => $"unsupported operand type(s) for {op}: '{PythonTypeName(x)}' and '{PythonTypeName(y)}'";
        return Combine(FromJson(x, _ => Describe()), FromJson(y, _ => Describe()), ints, floats);
    }

    private static PythonNumber Combine(PythonNumber a, PythonNumber b, Func<BigInteger, BigInteger, BigInteger> ints,
        Func<double, double, double> floats) =>
        a.IsFloat || b.IsFloat ? new PythonNumber(floats(a.ToDouble(), b.ToDouble())) : new PythonNumber(ints(a._int, b._int));

    private static bool TryFromJson(JsonNode? node, out PythonNumber number)
    {
        number = default;
        if (node is not JsonValue value) return false;
        switch (value.GetValueKind())
        {
            case JsonValueKind.True:
                number = new PythonNumber(BigInteger.One);
                return true;
            case JsonValueKind.False:
                number = Zero;
                return true;
            case JsonValueKind.Number:
                number = Parse(value);
                return true;
            default:
                return false;
        }
    }

    private static PythonNumber Parse(JsonValue value)
    {
        // From a message the value holds the JSON text itself, which tells an int from a float. A value built in .NET
        // holds a CLR number: its type tells.
        if (!value.TryGetValue(out JsonElement element))
        {
            if (value.TryGetValue(out double d)) return new PythonNumber(d);
            if (value.TryGetValue(out float f)) return new PythonNumber(f);
            if (value.TryGetValue(out decimal m)) return new PythonNumber((double)m);
        }
        var text = element.ValueKind == JsonValueKind.Number ? element.GetRawText() : value.ToJsonString();
        return text.AsSpan().IndexOfAny(".eE") >= 0
            ? new PythonNumber(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture))
            : new PythonNumber(BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
    }
}
