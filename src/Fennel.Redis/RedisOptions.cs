using System.Globalization;
using Fennel.Configuration;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// Where the Redis server is and how Fennel uses it. Parsed from a URL with <see cref="Parse"/>, the way Celery and kombu
/// read it: <c>redis://[[user]:password@]host[:port][/db]</c>, <c>rediss://</c> for TLS, with optional query options
/// <c>?visibility_timeout=3600&amp;poll_interval_ms=50</c>.
/// </summary>
public sealed record RedisOptions
{
    /// <summary>The plain-text scheme.</summary>
    public const string Scheme = "redis";

    /// <summary>The TLS scheme.</summary>
    public const string TlsScheme = "rediss";

    /// <summary>The host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>The port.</summary>
    /// <value>6379.</value>
    public int Port { get; init; } = 6379;

    /// <summary>The database number (the URL path).</summary>
    /// <value>0.</value>
    public int Database { get; init; }

    /// <summary>The ACL user name, when the URL has one.</summary>
    public string? User { get; init; }

    /// <summary>The password, when the URL has one.</summary>
    public string? Password { get; init; }

    /// <summary>True for <c>rediss://</c>.</summary>
    public bool UseTls { get; init; }

    /// <summary>
    /// kombu's <c>visibility_timeout</c>, with the same meaning: a fetched message whose consumer has not settled it or
    /// renewed its lease is restored to its queue once its lease is older than this. Fennel workers renew the leases of
    /// every message they hold, so a long task is never restored while its worker lives. Python Celery workers sharing the
    /// broker must use the same value (<c>broker_transport_options={'visibility_timeout': ...}</c>): ETA tasks parked in
    /// the broker become due by this same clock. URL option <c>visibility_timeout</c> (seconds).
    /// </summary>
    /// <value>3600 s, kombu's default.</value>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How often an idle consumer looks for messages that nobody announced: messages published by Python Celery (Fennel
    /// publishers announce theirs, so those arrive at once) and messages restored by other consumers. URL option
    /// <c>poll_interval_ms</c>.
    /// </summary>
    /// <value>50 ms.</value>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The endpoint as <c>host:port</c>.</summary>
    public string Endpoint => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>StackExchange.Redis settings for this server: reconnects on its own, never gives up at start-up.</summary>
    public ConfigurationOptions ToConfiguration()
    {
        var configuration = new ConfigurationOptions
        {
            EndPoints = { { Host, Port } },
            User = User,
            Password = Password,
            Ssl = UseTls,
            SslHost = UseTls ? Host : null,
            DefaultDatabase = Database,
            AbortOnConnectFail = false,
            ClientName = "fennel",
            ConnectRetry = 3,
            SocketManager = SocketManager.ThreadPool,
        };
        return configuration;
    }

    /// <summary>Reads a <c>redis://</c> or <c>rediss://</c> URL.</summary>
    /// <exception cref="FennelConfigurationException">The URL is not a usable Redis URL.</exception>
    public static RedisOptions Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) throw Bad(url, "it is not a URL");
        var tls = uri.Scheme.Equals(TlsScheme, StringComparison.OrdinalIgnoreCase);
        if (!tls && !uri.Scheme.Equals(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw Bad(url, $"its scheme is '{uri.Scheme}://', not 'redis://' or 'rediss://'");
        }
        if (string.IsNullOrEmpty(uri.Host)) throw Bad(url, "it names no host, e.g. 'redis://localhost:6379/0'");

        string? user = null, password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                password = Uri.UnescapeDataString(uri.UserInfo); // redis://secret@host, as redis-py reads it
            }
            else
            {
                user = colon == 0 ? null : Uri.UnescapeDataString(uri.UserInfo[..colon]);
                password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database))
        {
            throw Bad(url, $"its path '/{path}' is not a database number");
        }

        var options = new RedisOptions
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port,
            Database = database,
            User = user,
            Password = password,
            UseTls = tls,
        };
        foreach (var (name, value) in BrokerUrls.QueryOptions(uri.Query))
        {
            options = name switch
            {
                "visibility_timeout" => options with { VisibilityTimeout = TimeSpan.FromSeconds(Positive(url, name, value)) },
                "poll_interval_ms" => options with { PollInterval = TimeSpan.FromMilliseconds(Positive(url, name, value)) },
                _ => throw Bad(url, $"it has an unknown option '{name}' (known: visibility_timeout, poll_interval_ms)"),
            };
        }
        return options;
    }

    private static double Positive(string url, string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > 0 && double.IsFinite(number)
            ? number
            : throw Bad(url, $"its option {name}={value} is not a positive number");

    private static FennelConfigurationException Bad(string url, string why) =>
        new($"The Redis URL '{BrokerUrls.Redact(url)}' cannot be used: {why}.");
}
