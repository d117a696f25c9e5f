namespace Fennel.Cli.CommandLine;

/// <summary>The command line cannot be understood; the message says what is wrong and where to look.</summary>
public sealed class UsageException(string message) : Exception(message);
