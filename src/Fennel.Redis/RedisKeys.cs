using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// The key and channel names on the server. kombu's own (shared with Python Celery, see
/// <c>test/vectors/celery-5.2.6/README.md §2</c>) and Fennel's additions, all prefixed <c>_fennel.</c> as kombu prefixes
/// its own with <c>_kombu.</c>.
/// </summary>
internal sealed class RedisKeys(int database)
{
    /// <summary>kombu's separator inside priority list names and binding members: bytes 0x06 0x16.</summary>
    public const string Separator = "\x06\x16";

    /// <summary>kombu's priority steps: a message of priority p goes to the list of the highest step not above p.</summary>
    public static readonly int[] PrioritySteps = [0, 3, 6, 9];

    /// <summary>kombu: delivery tag → <c>[envelope, exchange, routing_key]</c> of every message held by a consumer.</summary>
    public static readonly RedisKey Unacked = "unacked";

    /// <summary>kombu: delivery tag scored by when its lease began (Fennel: lease end minus the visibility timeout).</summary>
    public static readonly RedisKey UnackedIndex = "unacked_index";

    /// <summary>Fennel: delivery tag → <c>nonce|score|deliveries</c>, who holds a message and how often it was delivered.</summary>
    public static readonly RedisKey Leases = "_fennel.leases";

    /// <summary>Fennel: dead letter id → its record (JSON).</summary>
    public static readonly RedisKey DeadLetters = "_fennel.dead_letters";

    /// <summary>Fennel: dead letter ids scored by when they were dead-lettered.</summary>
    public static readonly RedisKey DeadLetterIndex = "_fennel.dead_letters.index";

    /// <summary>
    /// Fennel: durable revokes, a stream of <c>task_id, terminate, revoked_at, expires_at</c> entries (times in Unix
    /// milliseconds); the entry id is the readers' cursor.
    /// </summary>
    public static readonly RedisKey Revokes = "_fennel.revokes";

    /// <summary>The database number, part of every pub/sub channel (pub/sub is not per database).</summary>
    public int Database { get; } = database;

    /// <summary>The priority step (0, 3, 6 or 9) a priority belongs to. On Redis a lower step is served first.</summary>
    public static int StepOf(int priority) => priority >= 9 ? 9 : priority >= 6 ? 6 : priority >= 3 ? 3 : 0;

    /// <summary>The list of a queue for one priority step: <c>q</c>, <c>q\x06\x163</c>, <c>q\x06\x166</c>, <c>q\x06\x169</c>.</summary>
    public static RedisKey List(string queue, int step) => step == 0 ? queue : queue + Separator + step.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>kombu's binding set of an exchange.</summary>
    public static RedisKey Binding(string exchange) => "_kombu.binding." + exchange;

    /// <summary>A binding member: <c>routing_key\x06\x16pattern\x06\x16queue</c>.</summary>
    public static string BindingMember(string routingKey, string queue) => routingKey + Separator + Separator + queue;

    /// <summary>Fennel: the ETA messages of a queue parked in <see cref="Unacked"/>, scored as in <see cref="UnackedIndex"/>.</summary>
    public static RedisKey Delayed(string queue) => "_fennel.delayed." + queue;

    /// <summary>Fennel: when the next turn of a cluster-wide rate limit (a task name) is free, in microseconds on the server's clock.</summary>
    public static RedisKey RateLimit(string name) => "_fennel.rate_limit." + name;

    /// <summary>Fennel: the channel a Fennel publisher announces new messages of a queue on, so idle consumers wake at once.</summary>
    public RedisChannel Ready(string queue) => RedisChannel.Literal($"/{Database}._fennel.ready/{queue}");

    /// <summary>kombu's fan-out channel: <c>/db.exchange/routing_key</c>, or <c>/db.exchange</c> without a routing key.</summary>
    public string FanoutChannel(string exchange, string routingKey) =>
        routingKey.Length == 0 ? $"/{Database}.{exchange}" : $"/{Database}.{exchange}/{routingKey}";
}
