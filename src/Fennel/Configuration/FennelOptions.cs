namespace Fennel.Configuration;

/// <summary>
/// The app's options: section <c>Fennel</c> of appsettings.json, environment variables <c>FENNEL_*</c>
/// (<c>FENNEL_BROKER_URL</c>, <c>FENNEL_RESULT_BACKEND</c>, <c>FENNEL_WORKER__CONCURRENCY</c>), the command line
/// (<c>-b/--broker</c>, <c>--result-backend</c>) and code, strongest last: command line, environment, file, code.
/// </summary>
public sealed class FennelOptions
{
    /// <summary>The broker used when none is configured: an embedded SQLite file in the working folder.</summary>
    public const string DefaultBrokerUrl = "sqlite:///fennel.db";

    /// <summary>
    /// The broker URL; its scheme picks the transport: <c>sqlite://</c>, <c>redis://</c>, <c>amqp://</c>, <c>memory://</c>.
    /// <value>Default: <c>sqlite:///fennel.db</c>.</value>
    /// </summary>
    public string? BrokerUrl { get; set; }

    /// <summary>Where results are stored. <value>Default: the broker, when it can store results.</value></summary>
    public string? ResultBackend { get; set; }

    /// <summary>The queue of tasks no router claims. <value>Default: <c>celery</c>, as in Celery.</value></summary>
    public string DefaultQueue { get; set; } = "celery";

    /// <summary>How long results are kept. <value>Default: 1 day (Celery's <c>result_expires</c>).</value></summary>
    public TimeSpan ResultExpires { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long a revoke is kept in the broker and honoured by workers; a task that arrives later runs. Keep it above the
    /// longest a revoked task may still wait in a queue (or for its ETA). <value>Default: 3 hours (Celery keeps revokes in
    /// worker memory for 3 hours, <c>REVOKES_MAX_AGE</c>).</value>
    /// </summary>
    public TimeSpan RevokeExpires { get; set; } = TimeSpan.FromHours(3);

    /// <summary>
    /// Write kombu 5.3 JSON type tags for dates, UUIDs, decimals and bytes in arguments and results. Leave off while Celery
    /// 5.2 (kombu 5.2) peers read them. Tags are always read. <value>Default: false.</value>
    /// </summary>
    public bool JsonTypeTags { get; set; }

    /// <summary>
    /// Eager mode, for unit tests: a sent task runs at once in the sending process and its result is stored before the
    /// send returns; no broker or worker is involved. Without a configured broker, results are kept in memory.
    /// <value>Default: false.</value>
    /// </summary>
    public bool Eager { get; set; }

    /// <summary>
    /// Whether task rate limits hold per worker (Celery's meaning) or across every worker on the broker, for tasks that
    /// do not set <see cref="Tasks.TaskOptions.RateLimitScope"/>. Cluster-wide limits need a Redis or SQLite broker.
    /// <value>Default: <see cref="Tasks.RateLimitScope.Worker"/>.</value>
    /// </summary>
    public Tasks.RateLimitScope RateLimitScope { get; set; } = Tasks.RateLimitScope.Worker;

    /// <summary>
    /// On a broker that cannot share a rate limit (RabbitMQ, memory), enforce cluster-wide rate limits per worker instead of
    /// refusing to start the worker. <value>Default: false.</value>
    /// </summary>
    public bool ClusterRateLimitFallback { get; set; }

    /// <summary>
    /// Send a <c>task-sent</c> event for each task this app publishes (Celery's <c>task_send_sent_event</c>), from
    /// <c>gen&lt;pid&gt;@&lt;host&gt;</c>, so monitors see tasks before a worker takes them. Needs a broker that can
    /// broadcast. <value>Default: false, as Celery.</value>
    /// </summary>
    public bool TaskSentEvents { get; set; }

    /// <summary>Worker options (section <c>Fennel:Worker</c>).</summary>
    public Worker.WorkerOptions Worker { get; set; } = new();

    /// <summary>The broker URL in force.</summary>
    public string EffectiveBrokerUrl => !string.IsNullOrWhiteSpace(BrokerUrl) ? BrokerUrl : Eager ? "memory://" : DefaultBrokerUrl;

    /// <summary>The result backend URL in force.</summary>
    /// <remarks><c>rpc://</c> (Celery's name for results sent back over the AMQP broker) means the broker URL.</remarks>
    public string EffectiveResultBackend =>
        string.IsNullOrWhiteSpace(ResultBackend) || IsRpc(ResultBackend) ? EffectiveBrokerUrl : ResultBackend;

    private static bool IsRpc(string? url) => url is not null && url.Trim().StartsWith("rpc://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws <see cref="FennelConfigurationException"/> naming the first bad option.</summary>
    public void Validate()
    {
        BrokerUrls.Scheme(EffectiveBrokerUrl, "broker URL");
        BrokerUrls.Scheme(EffectiveResultBackend, "result backend URL");
        if (IsRpc(ResultBackend) && BrokerUrls.Scheme(EffectiveBrokerUrl, "broker URL") is not ("amqp" or "amqps"))
        {
            throw new FennelConfigurationException(
                $"The result backend rpc:// sends results over an AMQP broker, but the broker is '{BrokerUrls.Redact(EffectiveBrokerUrl)}'; use an amqp:// broker or another result backend.");
        }
        if (string.IsNullOrWhiteSpace(DefaultQueue)) throw new FennelConfigurationException("Fennel:DefaultQueue must not be empty.");
        if (ResultExpires <= TimeSpan.Zero) throw new FennelConfigurationException($"Fennel:ResultExpires must be positive, not {ResultExpires}.");
        if (RevokeExpires <= TimeSpan.Zero) throw new FennelConfigurationException($"Fennel:RevokeExpires must be positive, not {RevokeExpires}.");
        Worker.Validate();
    }
}
