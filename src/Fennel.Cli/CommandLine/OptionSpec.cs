namespace Fennel.Cli.CommandLine;

/// <summary>One option of a command: its names (<c>-Q</c>, <c>--queues</c>), whether it takes a value, its help.</summary>
/// <param name="Names">Short and long names, e.g. <c>["-Q", "--queues"]</c>; the last one is the key in the parse result.</param>
/// <param name="Help">One line of help.</param>
/// <param name="ValueName">The value's name in help (<c>QUEUES</c>); null for a flag without a value.</param>
public sealed record OptionSpec(string[] Names, string Help, string? ValueName = null)
{
    /// <summary>The key under which the parsed value is stored: the longest name without dashes.</summary>
    public string Key => Names.OrderByDescending(n => n.Length).First().TrimStart('-');

    /// <summary>True when the option takes a value.</summary>
    public bool TakesValue => ValueName is not null;

    /// <summary>The options every command accepts.</summary>
    public static IReadOnlyList<OptionSpec> Global { get; } =
    [
        new(["-b", "--broker"], "Broker URL (default sqlite:///fennel.db; env FENNEL_BROKER_URL)", "URL"),
        new(["--result-backend"], "Result store URL (default: the broker; env FENNEL_RESULT_BACKEND)", "URL"),
        new(["-l", "--loglevel"], "Log level: debug, info, warning, error, critical (default info)", "LEVEL"),
        new(["--logfile"], "Also write logs to this file (%n node name, %h host, %p full node name, %i/%I process index, %% a %)", "PATH"),
        new(["-h", "--help"], "Show help for the command"),
    ];
}
