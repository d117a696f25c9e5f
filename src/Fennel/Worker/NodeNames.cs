namespace Fennel.Worker;

/// <summary>Worker node names as Celery forms them: <c>name@host</c>.</summary>
internal static class NodeNames
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

    /// <summary>
    /// Expands a file path (<c>--logfile</c>, <c>--pidfile</c>) for a node as Celery's <c>node_format</c> does:
    /// <c>%p</c> the full node name, <c>%h</c> its host part (with domain), <c>%n</c> its name part, <c>%d</c> the domain of
    /// the host, <c>%i</c> the pool process index (0 in the main process), <c>%I</c> the index with a separator
    /// (<c>-1</c> in pool process 1, empty in the main process), <c>%%</c> a percent sign. For node
    /// <c>customers@box.example.com</c>: <c>/var/log/fennel/%n%I.log</c> → <c>/var/log/fennel/customers.log</c> in the
    /// main process and <c>customers-2.log</c> in pool process 2. Pool processes call this with their own index.
    /// </summary>
    /// <param name="pattern">The path with substitutions.</param>
    /// <param name="nodeName">The node name, expanded already (<see cref="Expand"/>): <c>name@host</c>.</param>
    /// <param name="processIndex">0 in the main process; 1, 2, … in pool processes.</param>
    /// <exception cref="FormatException">The pattern has a substitution Celery does not define (<c>%x</c>).</exception>
    public static string FormatPath(string pattern, string nodeName, int processIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentException.ThrowIfNullOrEmpty(nodeName);
        ArgumentOutOfRangeException.ThrowIfNegative(processIndex);
        var at = nodeName.LastIndexOf('@');
        var name = at < 0 ? "celery" : nodeName[..at];
        var host = at < 0 ? nodeName : nodeName[(at + 1)..];
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        var domain = dot < 0 ? "" : host[(dot + 1)..];
        var index = processIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var text = new System.Text.StringBuilder(pattern.Length + nodeName.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '%' || i + 1 == pattern.Length)
            {
                text.Append(pattern[i]);
                continue;
            }
            var key = pattern[++i];
            text.Append(key switch
            {
                '%' => "%",
                'p' => nodeName,
                'h' => host,
                'n' => name,
                'd' => domain,
                'i' => index,
                'I' => processIndex == 0 ? "" : "-" + index,
                _ when char.IsAsciiLetterOrDigit(key) || key == '_' => throw new FormatException(
                    $"Unknown substitution %{key} in '{pattern}': use %p (node name), %h (host), %n (name), %d (domain), %i or %I (pool process index), %% (a percent sign)."),
                _ => "%" + key, // not a substitution (Celery leaves '%' before a non-word character alone)
            });
        }
        return text.ToString();
    }

    /// <summary>This machine's host name with its domain when one is configured (no DNS query).</summary>
    public static string FullHostName()
    {
        var host = Environment.MachineName;
        var domain = System.Net.NetworkInformation.IPGlobalProperties.GetIPGlobalProperties().DomainName;
        return string.IsNullOrEmpty(domain) || domain == "(none)" ? host : $"{host}.{domain}";
    }
}
