using System.Globalization;
using Fennel.Cli.CommandLine;

namespace Fennel.Bench;

/// <summary>What a run measures and how: the options of the <c>run</c> command, with their defaults.</summary>
internal sealed record BenchSettings
{
    /// <summary>The brokers a run can measure on, in the order it measures them.</summary>
    public static IReadOnlyList<string> AllBrokers { get; } = ["redis", "amqp"];

    /// <summary>The scenarios: <c>noop</c> (throughput, enqueue, round trips, memory) and <c>io</c> (tasks that sleep).</summary>
    public static IReadOnlyList<string> AllScenarios { get; } = ["noop", "io"];

    /// <summary>
    /// The systems compared, in column order. <c>celery-solo</c> and <c>raw</c> (RabbitMQ.Client alone, the ceiling) are
    /// measured on RabbitMQ only; <c>celery-gevent</c> in the I/O scenario only.
    /// </summary>
    public static IReadOnlyList<string> AllSystems { get; } = ["fennel", "celery-gevent", "celery-threads", "celery-prefork", "celery-solo", "raw"];

    /// <summary>The systems measured on Redis by default: as before RabbitMQ was added.</summary>
    public static IReadOnlyList<string> RedisSystems { get; } = ["fennel", "celery-threads", "celery-prefork"];

    /// <summary>The systems of the I/O scenario: Fennel's async pool against Celery's gevent, threads and prefork pools.</summary>
    public static IReadOnlyList<string> IoSystems { get; } = ["fennel", "celery-gevent", "celery-threads", "celery-prefork"];

    /// <summary>What the run measures: <c>noop</c> or <c>io</c>. <value>Default: noop.</value></summary>
    public string Scenario { get; init; } = "noop";

    /// <summary>The brokers to measure on: <c>redis</c>, <c>amqp</c> or both. <value>Default: redis.</value></summary>
    public IReadOnlyList<string> Brokers { get; init; } = ["redis"];

    /// <summary>A running RabbitMQ to use (its bench queues are purged), or null to start a private node. <value>Default: null.</value></summary>
    public string? AmqpUrl { get; init; }

    /// <summary>A running server to use (its database is flushed), or null to start a private one. <value>Default: null.</value></summary>
    public string? RedisUrl { get; init; }

    /// <summary>The redis-server program for a private server. <value>Default: <c>redis-server</c> on PATH.</value></summary>
    public string RedisServer { get; init; } = "redis-server";

    /// <summary>Fennel's broker and result store, when not the run's Redis (to try the harness on SQLite). <value>Default: null.</value></summary>
    public string? FennelBroker { get; init; }

    /// <summary>The columns to measure; each broker measures those it supports. <value>Default: all of them.</value></summary>
    public IReadOnlyList<string> Systems { get; init; } = AllSystems;

    /// <summary>
    /// The systems measured on a broker: in the no-op scenario on Redis fennel and Celery threads and prefork, on
    /// RabbitMQ all but gevent; in the I/O scenario fennel and Celery gevent, threads and prefork.
    /// </summary>
    public IReadOnlyList<string> SystemsOn(string broker) =>
        Scenario == "io" ? [.. Systems.Where(IoSystems.Contains)]
        : broker == "redis" ? [.. Systems.Where(RedisSystems.Contains)]
        : [.. Systems.Where(s => s != "celery-gevent")];

    /// <summary>No-op tasks per drain and per enqueue measurement. <value>Default: 20,000.</value></summary>
    public int Tasks { get; init; } = 20_000;

    /// <summary>Tasks per enqueue measurement (not the drains' fills). <value>Default: <see cref="Tasks"/>.</value></summary>
    public int? EnqueueTasks { get; init; }

    /// <summary>Tasks per enqueue measurement in force.</summary>
    public int EnqueueCount => EnqueueTasks ?? Tasks;

    /// <summary>Tasks per <c>SendBatchAsync</c> call. <value>Default: 1,000.</value></summary>
    public int BatchSize { get; init; } = 1_000;

    /// <summary>Sequential round trips measured. <value>Default: 1,000.</value></summary>
    public int RoundTrips { get; init; } = 1_000;

    /// <summary>
    /// How long the same calls run, unmeasured, before each client measurement: connections, imports, and .NET's tiered
    /// JIT reaching its optimized code, as in a long-running producer. <value>Default: 3 seconds.</value>
    /// </summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Fennel worker concurrencies to drain with; the first also serves round trips and idle memory. <value>Default: 8, 64, 256.</value></summary>
    public IReadOnlyList<int> FennelConcurrency { get; init; } = [8, 64, 256];

    /// <summary>Celery <c>-P threads</c> concurrencies to drain with. <value>Default: 8, 16.</value></summary>
    public IReadOnlyList<int> CeleryThreads { get; init; } = [8, 16];

    /// <summary>Celery <c>-P prefork</c> concurrencies to drain with. <value>Default: 2 (one per core).</value></summary>
    public IReadOnlyList<int> CeleryPrefork { get; init; } = [2];

    /// <summary>
    /// Celery's <c>--prefetch-multiplier</c> on RabbitMQ, its best case there (the broker pushes that many per slot); on
    /// Redis Celery runs with its default (4), as before. On RabbitMQ the prefork column also drains once with a worker at
    /// all its defaults. <value>Default: 256.</value>
    /// </summary>
    public int CeleryAmqpPrefetchMultiplier { get; init; } = 256;

    /// <summary>The raw RabbitMQ.Client consumer's prefetch (<c>basic.qos</c>, per consumer). <value>Default: 1,000.</value></summary>
    public int RawPrefetch { get; init; } = 1_000;

    /// <summary>The raw client's publisher-confirm window: messages awaiting a confirm at once. <value>Default: 512, as Fennel's.</value></summary>
    public int RawConfirmWindow { get; init; } = 512;

    /// <summary>
    /// The raw consumer's ack batching, one drain each: 1 acks every message on its own (<c>multiple=false</c>), as
    /// Fennel does; N acks every Nth delivery with <c>multiple=true</c>. <value>Default: 1, 50.</value>
    /// </summary>
    public IReadOnlyList<int> RawAckEvery { get; init; } = [1, 50];

    /// <summary>I/O scenario: <c>bench.sleep</c> tasks per drain. <value>Default: 2,000.</value></summary>
    public int IoTasks { get; init; } = 2_000;

    /// <summary>I/O scenario: how long each task of the drain sleeps. <value>Default: 10 ms.</value></summary>
    public TimeSpan IoSleep { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>I/O scenario: the drain's concurrency, Fennel <c>-P async</c> and Celery gevent and threads. <value>Default: 100.</value></summary>
    public int IoConcurrency { get; init; } = 100;

    /// <summary>I/O scenario: Celery <c>-P prefork</c> concurrencies to drain with, for reference (none: skipped). <value>Default: 2 (one per core).</value></summary>
    public IReadOnlyList<int> IoCeleryPrefork { get; init; } = [2];

    /// <summary>I/O scenario: tasks sleeping at once on one worker with that concurrency (0: skipped). <value>Default: 10,000.</value></summary>
    public int Sleepers { get; init; } = 10_000;

    /// <summary>I/O scenario: how long each of the <see cref="Sleepers"/> sleeps. <value>Default: 20 s.</value></summary>
    public TimeSpan SleeperSleep { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>I/O scenario: how long the sleepers may take beyond their sleep before the worker is given up on. <value>Default: 120 s.</value></summary>
    public TimeSpan SleepersTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>I/O scenario: the sleepers' workers' prefetch multiplier (Fennel's and Celery's). <value>Default: 1.</value></summary>
    public int SleepersPrefetchMultiplier { get; init; } = 1;

    /// <summary>How long an idle worker is left alone after its ready line before its memory is read. <value>Default: 5 s.</value></summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one drain may take. <value>Default: 10 minutes.</value></summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The Python with Celery 5. <value>Default: <c>/usr/bin/python3</c> (Debian's, where python3-celery lives).</value></summary>
    public string Python { get; init; } = "/usr/bin/python3";

    /// <summary>A file to write the report to, besides stdout. <value>Default: none.</value></summary>
    public string? Output { get; init; }

    /// <summary>The Fennel commit measured, for the report's machine line. <value>Default: none.</value></summary>
    public string? Commit { get; init; }

    public static IReadOnlyList<OptionSpec> Options { get; } =
    [
        new(["--scenario"], "noop: drains of no-op tasks, enqueue, round trips, memory (default); io: tasks that sleep (Redis only)", "NAME"),
        new(["--brokers"], "redis, amqp or all: the broker(s) to measure on, one after the other (default redis)", "NAME"),
        new(["--amqp"], "Use this RabbitMQ (amqp://user:pass@host:port/vhost; its bench queues are PURGED) instead of starting a private node", "URL"),
        new(["--redis"], "Use this redis-server (redis://host:port/db; that database is FLUSHED) instead of starting a private one", "URL"),
        new(["--redis-server"], "The redis-server program for the private server (default: redis-server on PATH)", "PATH"),
        new(["--fennel-broker"], "Fennel's broker and result store if not the run's Redis, e.g. sqlite:////tmp/bench.db", "URL"),
        new(["--systems"], "Columns to measure, comma-separated (default: fennel,celery-gevent,celery-threads,celery-prefork,celery-solo,raw; celery-solo and raw on amqp only, celery-gevent in --scenario io only)", "LIST"),
        new(["--tasks"], "No-op tasks per drain and per enqueue measurement (default 20000)", "N"),
        new(["--enqueue-tasks"], "Tasks per enqueue measurement, when not --tasks (e.g. fewer, to profile long drains)", "N"),
        new(["--batch-size"], "Tasks per SendBatchAsync call (default 1000)", "N"),
        new(["--round-trips"], "Sequential round trips measured (default 1000)", "N"),
        new(["--warmup"], "Seconds of the same calls, unmeasured, before each client measurement (default 3)", "SECONDS"),
        new(["--fennel-concurrency"], "Fennel worker concurrencies to drain with; the first serves round trips and idle memory (default 8,64,256)", "LIST"),
        new(["--celery-threads"], "Celery -P threads concurrencies to drain with (default 8,16)", "LIST"),
        new(["--celery-prefork"], "Celery -P prefork concurrencies to drain with (default 2)", "LIST"),
        new(["--celery-amqp-prefetch-multiplier"], "Celery's --prefetch-multiplier on RabbitMQ (default 256)", "N"),
        new(["--raw-prefetch"], "The raw RabbitMQ.Client consumer's prefetch (default 1000)", "N"),
        new(["--raw-confirm-window"], "The raw RabbitMQ.Client publisher's confirm window (default 512)", "N"),
        new(["--raw-ack-every"], "Raw consumer drains: 1 acks each message alone, N acks every Nth with multiple=true (default 1,50)", "LIST"),
        new(["--io-tasks"], "io: bench.sleep tasks per drain (default 2000)", "N"),
        new(["--io-sleep-ms"], "io: milliseconds each task of the drain sleeps (default 10)", "MS"),
        new(["--io-concurrency"], "io: the drain's concurrency, Fennel -P async and Celery -P gevent and -P threads (default 100)", "N"),
        new(["--io-celery-prefork"], "io: Celery -P prefork concurrencies to drain with, for reference; 0 skips it (default 2)", "LIST"),
        new(["--sleepers"], "io: tasks sleeping at once on one worker with -c of that number; 0 skips it (default 10000)", "N"),
        new(["--sleeper-seconds"], "io: seconds each of the sleepers sleeps (default 20)", "SECONDS"),
        new(["--sleepers-timeout"], "io: seconds the sleepers may take beyond their sleep before the worker is given up on (default 120)", "SECONDS"),
        new(["--sleepers-prefetch-multiplier"], "io: the sleepers' workers' prefetch multiplier, Fennel's and Celery's (default 1)", "N"),
        new(["--settle"], "Seconds an idle worker rests after its ready line before its memory is read (default 5)", "SECONDS"),
        new(["--drain-timeout"], "Seconds one drain may take (default 600)", "SECONDS"),
        new(["--python"], "Python with Celery 5 (default /usr/bin/python3)", "PATH"),
        new(["--output"], "Also write the report to this file", "PATH"),
        new(["--commit"], "The Fennel commit measured, shown in the report", "TEXT"),
    ];

    /// <summary>Reads the options; a <see cref="UsageException"/> names the first bad one.</summary>
    public static BenchSettings From(ParsedCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var defaults = new BenchSettings();
        var systems = command.Get("systems") is { } list ? Split(list) : defaults.Systems;
        foreach (var system in systems)
        {
            if (!AllSystems.Contains(system)) throw new UsageException($"Unknown system '{system}'; choose from {string.Join(", ", AllSystems)}.");
        }
        var scenario = command.Get("scenario") ?? defaults.Scenario;
        if (!AllScenarios.Contains(scenario)) throw new UsageException($"Unknown scenario '{scenario}'; choose noop or io (--scenario).");
        var brokers = command.Get("brokers") switch
        {
            null => defaults.Brokers,
            "all" => AllBrokers,
            var b when AllBrokers.Contains(b) => [b],
            var b => throw new UsageException($"Unknown broker '{b}'; choose redis, amqp or all (--brokers)."),
        };
        if (scenario == "io" && brokers.Any(b => b != "redis")) throw new UsageException("--scenario io runs on Redis only; leave out --brokers.");
        IReadOnlyList<int> ioPrefork = command.Get("io-celery-prefork") == "0" ? [] : Concurrencies(command, "io-celery-prefork") ?? defaults.IoCeleryPrefork;
        return new BenchSettings
        {
            Scenario = scenario,
            Brokers = brokers,
            AmqpUrl = command.Get("amqp"),
            RedisUrl = command.Get("redis"),
            RedisServer = command.Get("redis-server") ?? defaults.RedisServer,
            FennelBroker = command.Get("fennel-broker"),
            Systems = [.. AllSystems.Where(systems.Contains)],
            Tasks = command.GetInt("tasks", min: 1) ?? defaults.Tasks,
            EnqueueTasks = command.GetInt("enqueue-tasks", min: 1),
            BatchSize = command.GetInt("batch-size", min: 1) ?? defaults.BatchSize,
            RoundTrips = command.GetInt("round-trips", min: 1) ?? defaults.RoundTrips,
            Warmup = command.GetSeconds("warmup") ?? defaults.Warmup,
            FennelConcurrency = Concurrencies(command, "fennel-concurrency") ?? defaults.FennelConcurrency,
            CeleryThreads = Concurrencies(command, "celery-threads") ?? defaults.CeleryThreads,
            CeleryPrefork = Concurrencies(command, "celery-prefork") ?? defaults.CeleryPrefork,
            CeleryAmqpPrefetchMultiplier = command.GetInt("celery-amqp-prefetch-multiplier", min: 1) ?? defaults.CeleryAmqpPrefetchMultiplier,
            RawPrefetch = command.GetInt("raw-prefetch", min: 1) ?? defaults.RawPrefetch,
            RawConfirmWindow = command.GetInt("raw-confirm-window", min: 1) ?? defaults.RawConfirmWindow,
            RawAckEvery = Concurrencies(command, "raw-ack-every") ?? defaults.RawAckEvery,
            IoTasks = command.GetInt("io-tasks", min: 1) ?? defaults.IoTasks,
            IoSleep = command.GetInt("io-sleep-ms", min: 0) is { } ms ? TimeSpan.FromMilliseconds(ms) : defaults.IoSleep,
            IoConcurrency = command.GetInt("io-concurrency", min: 1) ?? defaults.IoConcurrency,
            IoCeleryPrefork = ioPrefork,
            Sleepers = command.GetInt("sleepers", min: 0) ?? defaults.Sleepers,
            SleeperSleep = command.GetSeconds("sleeper-seconds") ?? defaults.SleeperSleep,
            SleepersTimeout = command.GetSeconds("sleepers-timeout") ?? defaults.SleepersTimeout,
            SleepersPrefetchMultiplier = command.GetInt("sleepers-prefetch-multiplier", min: 1) ?? defaults.SleepersPrefetchMultiplier,
            Settle = command.GetSeconds("settle") ?? defaults.Settle,
            DrainTimeout = command.GetSeconds("drain-timeout") ?? defaults.DrainTimeout,
            Python = command.Get("python") ?? defaults.Python,
            Output = command.Get("output"),
            Commit = command.Get("commit"),
        };
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int[]? Concurrencies(ParsedCommand command, string key)
    {
        if (command.Get(key) is not { } list) return null;
        var values = Split(list);
        var parsed = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (!int.TryParse(values[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out parsed[i]) || parsed[i] < 1)
            {
                throw new UsageException($"--{key} expects numbers of at least 1, comma-separated, not '{list}'.");
            }
        }
        return parsed.Length > 0 ? parsed : throw new UsageException($"--{key} needs at least one number.");
    }
}
