using System.Globalization;
using Fennel.Configuration;

namespace Fennel.RabbitMQ;

/// <summary>
/// Where the RabbitMQ server is and how Fennel uses it. Parsed from a URL with <see cref="Parse"/>, the way kombu reads
/// it: <c>amqp://user:password@host:port/vhost</c> (<c>//</c> or no path is the vhost <c>/</c>), <c>amqps://</c> for TLS,
/// with optional query options <c>?heartbeat=60&amp;max_priority=10&amp;consumer_timeout=1800</c>.
/// </summary>
public sealed record RabbitMQOptions
{
    /// <summary>The plain-text scheme.</summary>
    public const string Scheme = "amqp";

    /// <summary>The TLS scheme.</summary>
    public const string TlsScheme = "amqps";

    /// <summary>The host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>The port. <value>5672, or 5671 for <c>amqps://</c>.</value></summary>
    public int Port { get; init; } = 5672;

    /// <summary>The virtual host. <value><c>/</c>.</value></summary>
    public string VirtualHost { get; init; } = "/";

    /// <summary>The user. <value><c>guest</c>, as kombu.</value></summary>
    public string User { get; init; } = "guest";

    /// <summary>The password. <value><c>guest</c>, as kombu.</value></summary>
    public string Password { get; init; } = "guest";

    /// <summary>True for <c>amqps://</c>.</summary>
    public bool UseTls { get; init; }

    /// <summary>The AMQP heartbeat: a dead connection is noticed within about twice this. URL option <c>heartbeat</c> (seconds).</summary>
    /// <value>60 s, RabbitMQ's default.</value>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When set, task queues Fennel declares get <c>x-max-priority</c> (1..255), so RabbitMQ serves higher priorities
    /// first. Every client declaring a queue must use the same value: RabbitMQ refuses a redeclaration with other
    /// arguments (Celery: <c>task_queue_max_priority</c>). URL option <c>max_priority</c>.
    /// </summary>
    /// <value>null: plain queues, as Celery declares them; priorities are then ignored by the broker.</value>
    public int? MaxPriority { get; init; }

    /// <summary>
    /// The server's <c>consumer_timeout</c>: RabbitMQ closes a channel whose delivery stays unacknowledged longer than
    /// this. A task that runs longer than half of it is moved to a lease queue of its own (see
    /// <c>docs/operations.md</c>), so it is neither lost nor run twice. Set it to the server's value. URL option
    /// <c>consumer_timeout</c> (seconds).
    /// </summary>
    /// <value>1800 s, RabbitMQ's default.</value>
    public TimeSpan ConsumerTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a publish may wait for the broker's confirm. URL option <c>confirm_timeout</c> (seconds).</summary>
    /// <value>30 s.</value>
    public TimeSpan ConfirmTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The endpoint as <c>host:port</c>, for logs.</summary>
    public string Endpoint => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>The URL with the password hidden, for logs and errors.</summary>
    public string Display => $"{(UseTls ? TlsScheme : Scheme)}://{User}@{Endpoint}/{Uri.EscapeDataString(VirtualHost)}";

    /// <summary>Reads an <c>amqp://</c> or <c>amqps://</c> URL.</summary>
    /// <exception cref="FennelConfigurationException">The URL is not a usable AMQP URL.</exception>
    public static RabbitMQOptions Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) throw Bad(url, "it is not a URL");
        var tls = uri.Scheme.Equals(TlsScheme, StringComparison.OrdinalIgnoreCase);
        if (!tls && !uri.Scheme.Equals(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw Bad(url, $"its scheme is '{uri.Scheme}://', not 'amqp://' or 'amqps://'");
        }
        if (string.IsNullOrEmpty(uri.Host)) throw Bad(url, "it names no host, e.g. 'amqp://guest:guest@localhost:5672//'");

        string user = "guest", password = "guest";
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            password = colon < 0 ? "" : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        // kombu: everything after the first '/' is the vhost, percent-decoded; nothing (or '/') means '/'.
        var raw = uri.GetComponents(UriComponents.Path, UriFormat.UriEscaped);
        var vhost = Uri.UnescapeDataString(raw);
        if (vhost.Length == 0) vhost = "/";

        var options = new RabbitMQOptions
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 5671 : 5672) : uri.Port,
            VirtualHost = vhost,
            User = user,
            Password = password,
            UseTls = tls,
        };
        foreach (var (name, value) in BrokerUrls.QueryOptions(uri.Query))
        {
            options = name switch
            {
                "heartbeat" => options with { Heartbeat = TimeSpan.FromSeconds(Number(url, name, value, 0, 3600)) },
                "max_priority" => options with { MaxPriority = (int)Number(url, name, value, 1, 255) },
                "consumer_timeout" => options with { ConsumerTimeout = TimeSpan.FromSeconds(Number(url, name, value, 1, int.MaxValue / 1000)) },
                "confirm_timeout" => options with { ConfirmTimeout = TimeSpan.FromSeconds(Number(url, name, value, 0.1, 3600)) },
                _ => throw Bad(url, $"it has an unknown option '{name}' (known: heartbeat, max_priority, consumer_timeout, confirm_timeout)"),
            };
        }
        return options;
    }

    private static double Number(string url, string name, string value, double min, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? number
            : throw Bad(url, $"its option {name}={value} is not a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");

    private static FennelConfigurationException Bad(string url, string why) =>
        new($"The RabbitMQ URL '{BrokerUrls.Redact(url)}' cannot be used: {why}.");
}
