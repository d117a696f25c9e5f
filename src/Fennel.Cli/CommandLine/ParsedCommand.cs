using System.Globalization;

namespace Fennel.Cli.CommandLine;

/// <summary>A parsed command line: the command, its option values and its positional arguments.</summary>
public sealed class ParsedCommand
{
    private readonly Dictionary<string, string?> _values;

    internal ParsedCommand(CommandSpec command, Dictionary<string, string?> values, IReadOnlyList<string> positionals)
    {
        Command = command;
        _values = values;
        Positionals = positionals;
    }

    /// <summary>The command.</summary>
    public CommandSpec Command { get; }

    /// <summary>Positional arguments, in order.</summary>
    public IReadOnlyList<string> Positionals { get; }

    /// <summary>True when the option (by key, e.g. <c>wait</c>) was given.</summary>
    public bool Has(string key) => _values.ContainsKey(key);

    /// <summary>The option's value, or null.</summary>
    public string? Get(string key) => _values.GetValueOrDefault(key);

    /// <summary>The option as an integer; a <see cref="UsageException"/> when it is not one or is below <paramref name="min"/>.</summary>
    public int? GetInt(string key, int min = int.MinValue)
    {
        if (Get(key) is not { } text) return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min)
        {
            throw new UsageException($"--{key} expects {(min == int.MinValue ? "an integer" : $"an integer of at least {min}")}, not '{text}'.");
        }
        return value;
    }

    /// <summary>The option as seconds (decimals allowed); a <see cref="UsageException"/> when it is not a number ≥ 0.</summary>
    public TimeSpan? GetSeconds(string key)
    {
        if (Get(key) is not { } text) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsInfinity(value))
        {
            throw new UsageException($"--{key} expects a number of seconds, not '{text}'.");
        }
        return TimeSpan.FromSeconds(value);
    }
}
