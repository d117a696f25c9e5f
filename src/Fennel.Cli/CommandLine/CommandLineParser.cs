namespace Fennel.Cli.CommandLine;

/// <summary>
/// Parses <c>command [positionals] [options]</c> the way Celery's CLI reads: <c>-Q a,b</c>, <c>--queues a,b</c>,
/// <c>--queues=a,b</c>, <c>-c8</c>. Unknown options and missing values are errors, never ignored.
/// </summary>
internal static class CommandLineParser
{
    /// <summary>Parses the arguments after the command name.</summary>
    /// <exception cref="UsageException">An unknown option, a missing value, a missing or extra positional argument.</exception>
    public static ParsedCommand Parse(CommandSpec command, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(args);
        var options = command.AllOptions.ToList();
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var positionals = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                positionals.AddRange(args.Skip(i + 1));
                break;
            }
            if (arg.Length < 2 || arg[0] != '-' || IsNegativeNumber(arg))
            {
                positionals.Add(arg);
                continue;
            }
            string name;
            string? inline = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0) (name, inline) = (arg[..eq], arg[(eq + 1)..]);
            else if (!arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2) (name, inline) = (arg[..2], arg[2..]);
            else name = arg;

            var spec = options.FirstOrDefault(o => o.Names.Contains(name, StringComparer.Ordinal))
                ?? throw new UsageException($"Unknown option '{name}' for '{command.Name}'. See '{command.Name} --help'.");
            if (!spec.TakesValue)
            {
                if (inline is not null) throw new UsageException($"Option '{name}' takes no value.");
                values[spec.Key] = null;
                continue;
            }
            if (inline is null)
            {
                if (i + 1 >= args.Count) throw new UsageException($"Option '{name}' needs a value ({spec.ValueName}).");
                inline = args[++i];
            }
            values[spec.Key] = inline;
        }
        if (values.ContainsKey("help")) return new ParsedCommand(command, values, positionals);
        if (positionals.Count < command.Positionals.Count)
        {
            throw new UsageException($"'{command.Name}' needs {string.Join(" ", command.Positionals)}. See '{command.Name} --help'.");
        }
        if (positionals.Count > command.Positionals.Count && !command.LastPositionalRepeats)
        {
            throw new UsageException($"Unexpected argument '{positionals[command.Positionals.Count]}' for '{command.Name}'. See '{command.Name} --help'.");
        }
        return new ParsedCommand(command, values, positionals);
    }

    private static bool IsNegativeNumber(string arg) => arg.Length > 1 && arg[0] == '-' && char.IsDigit(arg[1]);
}
