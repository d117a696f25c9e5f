using System.Text;

namespace Fennel.Cli.Output;

/// <summary>
/// A plain-text table for terminals and logs: a header row, left-aligned columns two spaces apart, cells cut with
/// <c>…</c> past <see cref="MaxCellWidth"/> so one long argument list does not push every other column off screen.
/// </summary>
internal sealed class TextTable(params string[] headers)
{
    /// <summary>The widest a cell may be before it is cut.</summary>
    public const int MaxCellWidth = 60;

    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public TextTable Add(params string?[] cells)
    {
        if (cells.Length != headers.Length) throw new ArgumentException($"Expected {headers.Length} cells, got {cells.Length}.", nameof(cells));
        _rows.Add([.. cells.Select(Clean)]);
        return this;
    }

    public override string ToString()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        Line(text, headers, widths);
        foreach (var row in _rows) Line(text, row, widths);
        return text.ToString().TrimEnd('\n');
    }

    private static void Line(StringBuilder text, IReadOnlyList<string> cells, int[] widths)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Count; i++)
        {
            if (i > 0) line.Append("  ");
            line.Append(i == cells.Count - 1 ? cells[i] : cells[i].PadRight(widths[i]));
        }
        text.Append(line.ToString().TrimEnd()).Append('\n');
    }

    private static string Clean(string? cell)
    {
        var text = (cell ?? "").Replace('\n', ' ').Replace('\r', ' ').Replace('\t', ' ');
        return text.Length <= MaxCellWidth ? text : string.Concat(text.AsSpan(0, MaxCellWidth - 1), "…");
    }
}
