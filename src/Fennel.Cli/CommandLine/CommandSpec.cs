namespace Fennel.Cli.CommandLine;

/// <summary>A sub-command: its name, help, options, positional arguments and what it does.</summary>
/// <param name="Name">The name, e.g. <c>worker</c>.</param>
/// <param name="Summary">One line for the command list.</param>
/// <param name="Options">Its own options (the global ones are added).</param>
/// <param name="Positionals">Names of its positional arguments, e.g. <c>["NAME"]</c>; all required. A last name ending in
/// <c>...</c> (<c>["ID..."]</c>) takes one or more values.</param>
/// <param name="Run">Runs it; returns the exit code.</param>
public sealed record CommandSpec(string Name, string Summary, IReadOnlyList<OptionSpec> Options, IReadOnlyList<string> Positionals,
    Func<FennelApp, ParsedCommand, CancellationToken, Task<int>> Run)
{
    /// <summary>True when the last positional argument takes one or more values (its name ends in <c>...</c>).</summary>
    public bool LastPositionalRepeats => Positionals.Count > 0 && Positionals[^1].EndsWith("...", StringComparison.Ordinal);

    /// <summary>Every option it accepts: its own, then the global ones.</summary>
    public IEnumerable<OptionSpec> AllOptions => Options.Concat(OptionSpec.Global);

    /// <summary>More help after the options (the methods of <c>inspect</c> and <c>control</c>, say).</summary>
    public string? Details { get; init; }

    /// <summary>The help text.</summary>
    public string Help(string program)
    {
        var lines = new List<string>
        {
            $"Usage: {program} {Name}{string.Concat(Positionals.Select(p => " " + p))} [options]",
            "",
            Summary,
            "",
            "Options:",
        };
        foreach (var o in AllOptions)
        {
            var names = string.Join(", ", o.Names) + (o.TakesValue ? " " + o.ValueName : "");
            lines.Add($"  {names,-34} {o.Help}");
        }
        if (Details is not null) lines.AddRange(["", Details]);
        return string.Join(Environment.NewLine, lines);
    }
}
