using System.Globalization;
using System.Text;

namespace Fennel.Dashboard.Metrics;

/// <summary>
/// Writes Prometheus' text exposition format, version 0.0.4: <c># HELP</c> and <c># TYPE</c> once per family, then one
/// line per sample, <c>name{label="value",...} number</c>, lines ending in <c>\n</c>.
/// </summary>
internal sealed class PrometheusText
{
    /// <summary>The response's content type for this format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();

    /// <summary>Starts a family: its help (backslashes and line breaks escaped) and its type (counter, gauge, histogram).</summary>
    public void Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ');
        foreach (var c in help)
        {
            _ = c switch
            {
                '\\' => _text.Append(@"\\"),
                '\n' => _text.Append(@"\n"),
                _ => _text.Append(c),
            };
        }
        _text.Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>One sample; labels as name and value pairs (values escaped here).</summary>
    public void Sample(string name, double value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0) _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"");
                AppendLabelValue(labels[i].Value);
                _text.Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ').Append(Number(value)).Append('\n');
    }

    /// <summary>A number as the format spells it: <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>, or the shortest round-tripping decimal.</summary>
    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    public override string ToString() => _text.ToString();

    /// <summary>A label value: backslash, double quote and line feed escaped (<c>\\</c>, <c>\"</c>, <c>\n</c>); the rest as is (UTF-8).</summary>
    private void AppendLabelValue(string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => _text.Append(@"\\"),
                '"' => _text.Append("\\\""),
                '\n' => _text.Append(@"\n"),
                _ => _text.Append(c),
            };
        }
    }
}
