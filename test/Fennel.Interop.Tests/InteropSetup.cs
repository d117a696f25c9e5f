namespace Fennel.Interop.Tests;

/// <summary>The broker both sides of an interop test share.</summary>
internal enum InteropBroker
{
    /// <summary>Redis database 2 of the test server.</summary>
    Redis,

    /// <summary>The vhost <c>interop</c> of the test RabbitMQ node.</summary>
    RabbitMQ,
}

/// <summary>Where results go.</summary>
internal enum InteropResults
{
    /// <summary><c>celery-task-meta-&lt;id&gt;</c> keys in Redis database 2.</summary>
    Redis,

    /// <summary><c>rpc://</c>: each result is a message to the caller's reply queue on the AMQP broker; nothing is stored.</summary>
    Rpc,
}

/// <summary>What an interop test runs on: the broker, the result backend, and the queue's <c>x-max-priority</c> on RabbitMQ.</summary>
internal sealed record InteropSetup(InteropBroker Broker, InteropResults Results)
{
    /// <summary>Redis as broker and result backend.</summary>
    public static InteropSetup Redis { get; } = new(InteropBroker.Redis, InteropResults.Redis);

    /// <summary>RabbitMQ as broker, results through <c>rpc://</c>.</summary>
    public static InteropSetup RabbitMQWithRpc { get; } = new(InteropBroker.RabbitMQ, InteropResults.Rpc);

    /// <summary>RabbitMQ as broker, results in Redis.</summary>
    public static InteropSetup RabbitMQWithRedisResults { get; } = new(InteropBroker.RabbitMQ, InteropResults.Redis);

    /// <summary>
    /// RabbitMQ only: both sides declare the test's queue with this <c>x-max-priority</c> (Celery
    /// <c>task_queue_max_priority</c>, Fennel <c>?max_priority=</c>); null for a plain queue, as Celery declares by default.
    /// </summary>
    public int? MaxPriority { get; init; }

    /// <summary>Whether results carry <c>date_done</c> (stored results do; <c>rpc://</c> result messages do not).</summary>
    public bool ResultsHaveDateDone => Results == InteropResults.Redis;

    public override string ToString() => $"{Broker} broker, {Results} results{(MaxPriority is { } max ? $", x-max-priority {max}" : "")}";
}
