namespace Fennel.Configuration;

/// <summary>Broker and result-store URLs: their scheme, and a form safe to log.</summary>
public static class BrokerUrls
{
    /// <summary>The scheme of a URL (<c>sqlite</c>, <c>redis</c>, ...), lower case.</summary>
    /// <exception cref="FennelConfigurationException">The text is not a URL with a scheme.</exception>
    public static string Scheme(string url, string what = "URL")
    {
        var index = url?.IndexOf("://", StringComparison.Ordinal) ?? -1;
        if (index <= 0)
        {
            throw new FennelConfigurationException(
                $"The {what} '{Redact(url ?? "")}' has no scheme; expected e.g. sqlite:///fennel.db, redis://localhost:6379/0, amqp://guest:guest@localhost:5672//.");
        }
        return url![..index].ToLowerInvariant();
    }

    /// <summary>The URL with its password replaced by <c>***</c>, for logs and errors.</summary>
    public static string Redact(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var at = url.IndexOf('@', StringComparison.Ordinal);
        if (scheme < 0 || at < 0) return url;
        var colon = url.IndexOf(':', scheme + 3);
        return colon > 0 && colon < at ? url[..(colon + 1)] + "***" + url[at..] : url;
    }

    /// <summary>The <c>name=value</c> options of a URL's query (with or without its <c>?</c>), percent-decoded, in order.</summary>
    public static IEnumerable<(string Name, string Value)> QueryOptions(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            yield return (Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]), equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]));
        }
    }
}
