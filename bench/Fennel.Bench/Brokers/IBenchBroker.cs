namespace Fennel.Bench.Brokers;

/// <summary>
/// The one broker every system of a run uses: a private redis-server (<see cref="RedisServer"/>) or RabbitMQ node
/// (<see cref="RabbitMQNode"/>). Gives the run the URLs each side connects with, and what it needs to watch the broker:
/// queue lengths, a reset between measurements, and the broker's own work (CPU time; Redis also counts commands).
/// </summary>
internal interface IBenchBroker : IAsyncDisposable
{
    /// <summary><c>redis</c> or <c>amqp</c>, as in <c>--brokers</c>.</summary>
    string Kind { get; }

    /// <summary>The server and its version, for the report: <c>redis-server 7.0.15</c>, <c>RabbitMQ 3.10.8</c>.</summary>
    string Description { get; }

    /// <summary>Fennel's <c>-b</c>.</summary>
    string FennelBroker { get; }

    /// <summary>Fennel's <c>--result-backend</c>: the same Redis, or <c>rpc://</c> on RabbitMQ.</summary>
    string FennelResults { get; }

    /// <summary>Celery's <c>broker_url</c>.</summary>
    string CeleryBroker { get; }

    /// <summary>Celery's <c>result_backend</c>: the same Redis, or <c>rpc://</c> on RabbitMQ.</summary>
    string CeleryBackend { get; }

    /// <summary>Empties the broker of everything a measurement left: queues, results.</summary>
    Task ResetAsync();

    /// <summary>Messages waiting in a queue (0 for a queue that does not exist).</summary>
    Task<long> QueueLengthAsync(string queue);

    /// <summary>The broker's counters so far; two snapshots around a measurement give what it did for it.</summary>
    Task<BrokerSnapshot> SnapshotAsync();
}

/// <summary>The broker's CPU time so far (user and kernel), and on Redis its command statistics.</summary>
internal sealed record BrokerSnapshot(TimeSpan User, TimeSpan System, RedisStats? Redis)
{
    public BrokerUsage Since(BrokerSnapshot before)
    {
        ArgumentNullException.ThrowIfNull(before);
        return new BrokerUsage(User - before.User, System - before.System, Redis is null || before.Redis is null ? null : Redis.Since(before.Redis));
    }
}

/// <summary>What the broker did during a measurement: CPU time in user mode and in the kernel, and on Redis the commands.</summary>
internal sealed record BrokerUsage(TimeSpan User, TimeSpan System, RedisUsage? Redis)
{
    public TimeSpan Cpu => User + System;
}
