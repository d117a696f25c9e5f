using System.Globalization;
using Fennel.Configuration;

namespace Fennel.Sqlite;

/// <summary>
/// Where the SQLite database lives and how connections to it behave. Parsed from a broker URL with <see cref="Parse"/>:
/// <c>sqlite:///fennel.db</c> (relative to the working folder), <c>sqlite:////var/lib/app/fennel.db</c> (absolute),
/// with optional query options <c>?busy_timeout_ms=10000&amp;synchronous=full</c>.
/// </summary>
public sealed record SqliteOptions
{
    /// <summary>The URL scheme, without <c>://</c>.</summary>
    public const string Scheme = "sqlite";

    /// <summary>The full path of the database file.</summary>
    public required string Path { get; init; }

    /// <summary>
    /// How long an operation waits for another connection (in this or another process) to finish writing before it fails.
    /// URL option <c>busy_timeout_ms</c>.
    /// </summary>
    /// <value>5 seconds.</value>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// SQLite's <c>synchronous</c> setting. <see cref="SqliteSynchronous.Full"/> keeps every committed message through a
    /// crash of the process and a power loss, at the cost of an fsync per commit; <see cref="SqliteSynchronous.Normal"/>
    /// (with WAL) is faster and survives a crash of the process but may lose the last commits on a power loss.
    /// URL option <c>synchronous</c> (<c>full</c> or <c>normal</c>).
    /// </summary>
    /// <value><see cref="SqliteSynchronous.Full"/>: nothing lost by default.</value>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Full;

    /// <summary>Reads a <c>sqlite://</c> URL; a relative path is resolved against the current working folder.</summary>
    /// <exception cref="FennelConfigurationException">The URL is not a usable SQLite URL.</exception>
    public static SqliteOptions Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        const string prefix = Scheme + "://";
        if (!url.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw Bad(url, $"it does not start with '{prefix}'");
        }
        var rest = url[prefix.Length..];
        var queryStart = rest.IndexOf('?', StringComparison.Ordinal);
        var query = queryStart < 0 ? "" : rest[(queryStart + 1)..];
        var location = queryStart < 0 ? rest : rest[..queryStart];
        if (!location.StartsWith('/'))
        {
            throw Bad(url, "it names a host; SQLite needs a file: use 'sqlite:///relative/path.db' or 'sqlite:////absolute/path.db'");
        }
        // As SQLAlchemy reads it: three slashes then a relative path, four slashes then an absolute one.
        var path = Uri.UnescapeDataString(location[1..]);
        if (path.Length == 0 || path.EndsWith('/'))
        {
            throw Bad(url, "it names no file, e.g. 'sqlite:///fennel.db'");
        }
        if (path.Equals(":memory:", StringComparison.OrdinalIgnoreCase))
        {
            throw Bad(url, "an in-memory SQLite database cannot be shared between connections; use 'memory://' instead");
        }

        var options = new SqliteOptions { Path = System.IO.Path.GetFullPath(path) };
        foreach (var (name, value) in BrokerUrls.QueryOptions(query))
        {
            options = name switch
            {
                "busy_timeout_ms" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0 =>
                    options with { BusyTimeout = TimeSpan.FromMilliseconds(ms) },
                "busy_timeout_ms" => throw Bad(url, $"busy_timeout_ms '{value}' is not a positive whole number of milliseconds"),
                "synchronous" when value.Equals("normal", StringComparison.OrdinalIgnoreCase) =>
                    options with { Synchronous = SqliteSynchronous.Normal },
                "synchronous" when value.Equals("full", StringComparison.OrdinalIgnoreCase) =>
                    options with { Synchronous = SqliteSynchronous.Full },
                "synchronous" => throw Bad(url, $"synchronous '{value}' is not 'normal' or 'full'"),
                _ => throw Bad(url, $"'{name}' is not an option; known options are busy_timeout_ms and synchronous"),
            };
        }
        return options;
    }

    private static FennelConfigurationException Bad(string url, string why) =>
        new($"The SQLite URL '{url}' cannot be used: {why}.");
}
