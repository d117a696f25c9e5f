using Microsoft.Extensions.Logging;

namespace Fennel;

/// <summary>
/// The command-line options every command accepts, read before the app is built because they shape it:
/// <c>-b/--broker</c>, <c>--result-backend</c>, <c>-l/--loglevel</c>, <c>--logfile</c>, and the worker's <c>-n/--hostname</c>
/// (the log file's path may name the node). The CLI parses (and checks) them again.
/// </summary>
internal sealed record GlobalArguments(Dictionary<string, string?> Configuration, LogLevel? LogLevel, string? LogFile, string? NodeName = null)
{
    public static GlobalArguments Parse(IReadOnlyList<string> args)
    {
        var config = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        LogLevel? level = null;
        string? logFile = null;
        string? nodeName = null;
        for (var i = 0; i < args.Count; i++)
        {
            var (name, value, consumed) = Split(args, i);
            switch (name)
            {
                case "-b" or "--broker": config["Fennel:BrokerUrl"] = value; break;
                case "--result-backend": config["Fennel:ResultBackend"] = value; break;
                case "-l" or "--loglevel": level = ParseLevel(value); break;
                case "--logfile": logFile = value; break;
                case "-n" or "--hostname": nodeName = value; break;
                default: continue;
            }
            i += consumed;
        }
        return new GlobalArguments(config, level, logFile, nodeName);
    }

    /// <summary>Celery's level names (and .NET's): debug, info, warning, error, critical, fatal.</summary>
    public static LogLevel? ParseLevel(string? value) => value?.ToUpperInvariant() switch
    {
        "TRACE" => Microsoft.Extensions.Logging.LogLevel.Trace,
        "DEBUG" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "INFO" or "INFORMATION" => Microsoft.Extensions.Logging.LogLevel.Information,
        "WARN" or "WARNING" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "ERROR" => Microsoft.Extensions.Logging.LogLevel.Error,
        "CRITICAL" or "FATAL" => Microsoft.Extensions.Logging.LogLevel.Critical,
        _ => null,
    };

    private static (string Name, string? Value, int Consumed) Split(IReadOnlyList<string> args, int i)
    {
        var arg = args[i];
        var eq = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
        if (eq > 0) return (arg[..eq], arg[(eq + 1)..], 0);
        return (arg, i + 1 < args.Count ? args[i + 1] : null, 1);
    }
}
