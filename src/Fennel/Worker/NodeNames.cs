namespace Fennel.Worker;

/// <summary>Worker node names as Celery forms them: <c>name@host</c>.</summary>
public static class NodeNames
{
    /// <summary>
    /// Expands <c>%h</c> (host with domain), <c>%n</c> (host), <c>%d</c> (domain) and <c>%%</c>; puts <c>celery@</c> in
    /// front when there is no <c>@</c>: <c>customers.%h</c> → <c>celery@customers.box.example.com</c>.
    /// </summary>
    public static string Expand(string pattern, string? fullHostName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var full = fullHostName ?? FullHostName();
        var dot = full.IndexOf('.', StringComparison.Ordinal);
        var host = dot < 0 ? full : full[..dot];
        var domain = dot < 0 ? "" : full[(dot + 1)..];
        var expanded = pattern.Replace("%%", "\0", StringComparison.Ordinal)
            .Replace("%h", full, StringComparison.Ordinal)
            .Replace("%n", host, StringComparison.Ordinal)
            .Replace("%d", domain, StringComparison.Ordinal)
            .Replace("\0", "%", StringComparison.Ordinal);
        return expanded.Contains('@', StringComparison.Ordinal) ? expanded : "celery@" + expanded;
    }

    /// <summary>This machine's host name with its domain when one is configured (no DNS query).</summary>
    public static string FullHostName()
    {
        var host = Environment.MachineName;
        var domain = System.Net.NetworkInformation.IPGlobalProperties.GetIPGlobalProperties().DomainName;
        return string.IsNullOrEmpty(domain) || domain == "(none)" ? host : $"{host}.{domain}";
    }
}
