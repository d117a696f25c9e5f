using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Fennel.Testing.Servers;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using StackExchange.Redis;

namespace Fennel.Interop.Tests;

/// <summary>
/// What one interop test works in: the broker of its <see cref="InteropSetup"/> (Redis database 2 of the test server, or
/// the vhost <c>interop</c> of the test RabbitMQ node) and its result backend (Redis database 2, flushed at the start, or
/// <c>rpc://</c>); a queue of its own (deleted from RabbitMQ on dispose); the worker and client processes it started (all
/// killed on dispose, pass or fail); an in-process Fennel app on the same broker; and a temporary folder for the files it
/// hands to Python.
/// </summary>
internal sealed partial class InteropSandbox : IAsyncDisposable
{
    /// <summary>Redis database 2 belongs to Fennel.Interop.Tests (see <see cref="RedisTestServer.Url"/>).</summary>
    public const int Database = 2;

    /// <summary>kombu's separator between a queue name and its priority step in a list name (bytes 0x06 0x16).</summary>
    private const string PrioritySeparator = "\u0006\u0016";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly List<ChildProcess> _children = [];
    private FennelApp? _app;

    /// <summary>The vhost of the test RabbitMQ node that belongs to Fennel.Interop.Tests (see <see cref="RabbitMQTestServer.Url"/>).</summary>
    public const string VirtualHost = "interop";

    private IConnection? _amqp;

    private InteropSandbox(InteropSetup setup, string redisUrl, string? amqpUrl)
    {
        Setup = setup;
        RedisUrl = redisUrl;
        AmqpUrl = amqpUrl;
        Queue = "interop-" + Guid.NewGuid().ToString("N")[..8];
        Folder = Directory.CreateTempSubdirectory("fennel-interop-").FullName;
    }

    public InteropSetup Setup { get; }

    /// <summary>
    /// The visibility timeout both sides use, stated on both so they agree: kombu's default, which Fennel's Redis
    /// transport shares. No test waits for it (nothing is killed), and a shorter one would let a restore fire while a
    /// Celery worker holds an ETA task (Celery workers do not renew) and run that task twice.
    /// </summary>
    public static readonly TimeSpan VisibilityTimeout = TimeSpan.FromSeconds(3600);

    /// <summary><c>redis://127.0.0.1:PORT/2</c>: the broker and result backend of both sides on Redis, the result backend with RabbitMQ and Redis results.</summary>
    public string RedisUrl { get; }

    /// <summary><c>amqp://guest:guest@127.0.0.1:PORT/interop</c> with a RabbitMQ broker, else null.</summary>
    public string? AmqpUrl { get; }

    /// <summary>The broker URL Celery processes get.</summary>
    public string BrokerUrl => Setup.Broker == InteropBroker.RabbitMQ ? AmqpUrl! : RedisUrl;

    /// <summary>
    /// The broker URL Fennel processes get: <see cref="RedisUrl"/> with <c>?visibility_timeout=</c>, or <see cref="AmqpUrl"/>
    /// with <c>?max_priority=</c> when the setup has one.
    /// </summary>
    public string FennelBrokerUrl => Setup.Broker == InteropBroker.RabbitMQ
        ? AmqpUrl + (Setup.MaxPriority is { } max ? "?max_priority=" + max.ToString(CultureInfo.InvariantCulture) : "")
        : $"{RedisUrl}?visibility_timeout={VisibilityTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The result backend of both sides: <see cref="RedisUrl"/> or <c>rpc://</c>.</summary>
    public string ResultBackendUrl => Setup.Results == InteropResults.Rpc ? "rpc://" : RedisUrl;

    /// <summary>This test's queue, <c>interop-&lt;8 hex&gt;</c>: what the workers consume and the clients send to.</summary>
    public string Queue { get; }

    public string Folder { get; }

    /// <summary>An app in the test process on the same Redis: the Fennel client and its results.</summary>
    public FennelApp App => _app ??= FennelApp.CreateBuilder(["-b", FennelBrokerUrl, "--result-backend", ResultBackendUrl, "-l", "warning"]).Build();

    /// <summary>
    /// Locates the servers of <paramref name="setup"/> (a failure under CI when one is missing) and empties Redis database 2
    /// when Redis is the broker or the result backend.
    /// </summary>
    public static async Task<InteropSandbox> CreateAsync(InteropSetup? setup = null)
    {
        setup ??= InteropSetup.Redis;
        var usesRedis = setup.Broker == InteropBroker.Redis || setup.Results == InteropResults.Redis;
        var redisUrl = usesRedis ? RedisTestServer.Url(Database) : "";
        if (usesRedis) await FlushDatabaseAsync();
        var amqpUrl = setup.Broker == InteropBroker.RabbitMQ ? RabbitMQTestServer.Url(VirtualHost) : null;
        return new InteropSandbox(setup, redisUrl, amqpUrl);
    }

    /// <summary>
    /// Starts <c>dotnet Interop.dll worker</c> on <paramref name="queue"/> (default: this test's queue) with node name
    /// <paramref name="nodeName"/> (default <c>interop-net@%h</c>); with <paramref name="prefetchMultiplier"/>,
    /// <c>--prefetch-multiplier</c> (default 4); then <paramref name="extraArguments"/> (<c>-E</c>, say).
    /// </summary>
    public ChildProcess StartFennelWorker(int concurrency = 4, int? prefetchMultiplier = null, string nodeName = "interop-net@%h",
        string? queue = null, params string[] extraArguments) => Start($"Fennel worker {nodeName}", "dotnet",
        [InteropLocations.SampleDll, "worker", "-b", FennelBrokerUrl, "--result-backend", ResultBackendUrl, "-Q", queue ?? Queue, "-n", nodeName,
            "-c", concurrency.ToString(CultureInfo.InvariantCulture),
            .. prefetchMultiplier is { } multiplier ? new[] { "--prefetch-multiplier", multiplier.ToString(CultureInfo.InvariantCulture) } : [],
            "-l", "info", .. extraArguments],
        new Dictionary<string, string>(), Folder);

    /// <summary>
    /// Starts <c>python3 -m celery -A interop_tasks worker</c> on this test's queue as <paramref name="nodeName"/> (default
    /// <c>interop-py@%h</c>): on Redis the threads pool with 4 threads, on RabbitMQ Celery's default prefork pool with 2
    /// processes; with <paramref name="events"/>, <c>-E</c> (task events).
    /// </summary>
    public ChildProcess StartCeleryWorker(string nodeName = "interop-py@%h", bool events = false)
    {
        var (pool, concurrency) = Setup.Broker == InteropBroker.RabbitMQ ? ("prefork", "2") : ("threads", "4");
        return Start($"Celery worker {nodeName}", InteropLocations.Python,
            ["-m", "celery", "-A", "interop_tasks", "worker", "-Q", Queue, "-n", nodeName, "-P", pool, "-c", concurrency, "-l", "info",
                .. events ? new[] { "-E" } : []],
            PythonEnvironment(), InteropLocations.PythonFolder);
    }

    /// <summary>Starts <c>python3 ARGS</c> in the Python folder (a script there, or <c>-m celery ...</c>) with the shared Celery environment.</summary>
    public ChildProcess StartPython(string name, params string[] arguments) =>
        Start(name, InteropLocations.Python, arguments, PythonEnvironment(), InteropLocations.PythonFolder);

    /// <summary>
    /// Runs <c>celery -b BROKER ARGS</c> (the real Celery command line, e.g. <c>inspect ping -d node --json</c>) and
    /// returns its exit code with the process for its output.
    /// </summary>
    public async Task<(int ExitCode, ChildProcess Process)> RunCeleryCommandAsync(params string[] arguments)
    {
        var celery = StartPython("celery " + string.Join(" ", arguments), ["-m", "celery", "-b", BrokerUrl, .. arguments]);
        return (await celery.WaitForExitAsync(StartTimeout), celery);
    }

    /// <summary>Starts the <c>fennel</c> tool (src/Fennel.Cli, which has no task code) with <c>-b</c> this test's Fennel broker URL.</summary>
    public ChildProcess StartFennelTool(params string[] arguments) => Start("fennel " + string.Join(" ", arguments), "dotnet",
        [InteropLocations.FennelToolDll, .. arguments, "-b", FennelBrokerUrl], new Dictionary<string, string>(), Folder);

    /// <summary>Runs the <c>fennel</c> tool to its end and returns its exit code with the process for its output.</summary>
    public async Task<(int ExitCode, ChildProcess Process)> RunFennelToolAsync(params string[] arguments)
    {
        var tool = StartFennelTool(arguments);
        return (await tool.WaitForExitAsync(StartTimeout), tool);
    }

    /// <summary>Waits until a worker logged that it is ready (Fennel: "&lt;node&gt; ready: ...", Celery: "&lt;node&gt; ready.").</summary>
    public static async Task WaitUntilReadyAsync(ChildProcess worker)
    {
        bool Ready() => worker.StderrLines.Any(l => ReadyLine().IsMatch(l));
        await Eventually.HoldsAsync(() => Ready() || worker.HasExited, () => $"{worker.Name} to log that it is ready.\n{worker.Describe()}", StartTimeout);
        if (!Ready()) throw new InvalidOperationException($"{worker.Name} exited before it was ready.\n{worker.Describe()}");
    }

    /// <summary>
    /// Runs python/send_tasks.py with <paramref name="calls"/> and returns its report's results by call key. The client
    /// waits up to <paramref name="resultTimeout"/> for the results, the test a little longer for the process.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, JsonObject> Results, ChildProcess Client)> RunCeleryClientAsync(
        IEnumerable<ContractCall> calls, TimeSpan resultTimeout)
    {
        var client = await StartCeleryClientAsync(calls, resultTimeout);
        return (await ReadCeleryReportAsync(client, resultTimeout), client);
    }

    /// <summary>
    /// Starts python/send_tasks.py with <paramref name="calls"/> (sent at once, then waited for up to
    /// <paramref name="resultTimeout"/>); <see cref="ReadCeleryReportAsync"/> reads its report. The calls are written to
    /// a file named after the client, so several clients may run one after the other.
    /// </summary>
    public async Task<ChildProcess> StartCeleryClientAsync(IEnumerable<ContractCall> calls, TimeSpan resultTimeout)
    {
        var callsFile = Path.Combine(Folder, $"calls-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(callsFile, new JsonArray([.. calls.Select(c => (JsonNode)c.ToCeleryCall())]).ToJsonString());
        return Start("Celery client", InteropLocations.Python,
            ["send_tasks.py", "--broker", BrokerUrl, "--result-backend", ResultBackendUrl, "--queue", Queue,
                "--timeout", resultTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture), "--calls", callsFile],
            PythonEnvironment(), InteropLocations.PythonFolder);
    }

    /// <summary>Waits for a client from <see cref="StartCeleryClientAsync"/> to exit and returns its report's results by call key.</summary>
    public async Task<IReadOnlyDictionary<string, JsonObject>> ReadCeleryReportAsync(ChildProcess client, TimeSpan resultTimeout)
    {
        var exitCode = await client.WaitForExitAsync(resultTimeout + StartTimeout);
        if (exitCode != 0) throw new InvalidOperationException($"send_tasks.py exited with {exitCode}.\n{DescribeProcesses()}");
        JsonNode? report;
        try
        {
            report = JsonNode.Parse(client.Stdout);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidOperationException($"send_tasks.py printed no JSON report ({ex.Message}).\n{client.Describe()}", ex);
        }
        var results = report?["results"]?.AsArray() ?? throw new InvalidOperationException($"The report has no results.\n{client.Describe()}");
        return results.Cast<JsonObject>().ToDictionary(r => r["key"]!.GetValue<string>(), StringComparer.Ordinal);
    }

    /// <summary>Every process's output, for a failure message; with <paramref name="lastLines"/>, only the end of each stderr.</summary>
    public string DescribeProcesses(int? lastLines = null)
    {
        lock (_children)
        {
            var text = new StringBuilder();
            foreach (var child in _children)
            {
                if (lastLines is not { } n)
                {
                    text.AppendLine(child.Describe());
                    continue;
                }
                var lines = child.StderrLines;
                text.AppendLine(CultureInfo.InvariantCulture, $"--- {child.Name} (pid {child.Id}, {(child.HasExited ? "exited" : "running")}): last {Math.Min(n, lines.Count)} of {lines.Count} stderr lines ---");
                foreach (var line in lines.Skip(Math.Max(0, lines.Count - n))) text.AppendLine(line);
            }
            return text.ToString();
        }
    }

    /// <summary>Opens a connection to database 2 for checks on the broker's keys (caller disposes).</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync() =>
        await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { RedisTestServer.Endpoint }, DefaultDatabase = Database, AllowAdmin = true });

    /// <summary>
    /// Where the message of a task that did not finish is in the broker, for failure messages: in one of this test's
    /// queue lists, held or parked in kombu's <c>unacked</c> hash (with its <c>unacked_index</c> score), or nowhere.
    /// </summary>
    public async Task<string> LocateMessageAsync(string taskId)
    {
        if (Setup.Broker == InteropBroker.RabbitMQ) return DescribeRabbitMQQueues();
        await using var redis = await ConnectAsync();
        var db = redis.GetDatabase();
        // kombu's lists: the queue itself for priorities 0-2, then "<queue>\x06\x16<step>" for 3-5, 6-8 and 9.
        foreach (var step in new[] { "", "3", "6", "9" })
        {
            var list = step.Length == 0 ? Queue : Queue + PrioritySeparator + step;
            var waiting = await db.ListRangeAsync(list);
            if (waiting.Any(m => m.ToString().Contains(taskId, StringComparison.Ordinal)))
            {
                return $"waiting in the list '{Queue}{(step.Length == 0 ? "" : @"\x06\x16" + step)}'";
            }
        }
        foreach (var entry in await db.HashGetAllAsync("unacked"))
        {
            if (!entry.Value.ToString().Contains(taskId, StringComparison.Ordinal)) continue;
            var score = await db.SortedSetScoreAsync("unacked_index", entry.Name);
            var visibleAt = score is { } s ? DateTimeOffset.FromUnixTimeMilliseconds((long)((s + VisibilityTimeout.TotalSeconds) * 1000)) : (DateTimeOffset?)null;
            return $"in kombu's unacked hash (delivery tag {entry.Name}, unacked_index score {score?.ToString(CultureInfo.InvariantCulture) ?? "none"}: " +
                $"a restore may bring it back from {visibleAt?.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) ?? "never"} UTC; now {DateTimeOffset.UtcNow:HH:mm:ss.fff})";
        }
        return "in no queue list and not in unacked";
    }

    /// <summary>
    /// RabbitMQ: the messages ready in this test's queue, or null while no client declared it. A passive declare on a
    /// connection of the test's own, so it neither creates the queue nor counts as a consumer.
    /// </summary>
    public async Task<uint?> CountReadyAsync()
    {
        _amqp ??= await new ConnectionFactory { Uri = new Uri(AmqpUrl ?? throw new InvalidOperationException("The broker is not RabbitMQ.")) }
            .CreateConnectionAsync("fennel-interop-tests");
        await using var channel = await _amqp.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(Queue)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return null;
        }
    }

    /// <summary>RabbitMQ: this test's queue, its delay queues and the reply queues, with ready and unacknowledged counts, for failure messages.</summary>
    private string DescribeRabbitMQQueues()
    {
        try
        {
            var lines = RabbitMQTestServer.Rabbitmqctl("--quiet", "list_queues", "-p", VirtualHost, "name", "messages_ready", "messages_unacknowledged", "consumers")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.Contains(Queue, StringComparison.Ordinal) || !l.StartsWith("interop-", StringComparison.Ordinal));
            return $"not known by id on RabbitMQ; queues of vhost {VirtualHost} (name, ready, unacked, consumers): {string.Join("; ", lines)}";
        }
        catch (InvalidOperationException e)
        {
            return $"not known (rabbitmqctl: {e.Message})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<ChildProcess> children;
        lock (_children) children = [.. _children];
        foreach (var child in children) child.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        if (AmqpUrl is not null) await DeleteQueueAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary folder.
        }
    }

    /// <summary>RabbitMQ: deletes this test's queue and its exchange, which Celery declares durable, so the vhost does not fill up with them.</summary>
    private async Task DeleteQueueAsync()
    {
        try
        {
            _amqp ??= await new ConnectionFactory { Uri = new Uri(AmqpUrl!) }.CreateConnectionAsync("fennel-interop-tests");
            await using var channel = await _amqp.CreateChannelAsync();
            await channel.QueueDeleteAsync(Queue);
            await channel.ExchangeDeleteAsync(Queue);
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException)
        {
            // Best effort: the vhost belongs to these tests.
        }
        finally
        {
            if (_amqp is not null) await _amqp.DisposeAsync();
        }
    }

    private ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment,
        string workingDirectory)
    {
        var child = ChildProcess.Start(name, fileName, arguments, environment, workingDirectory);
        lock (_children) _children.Add(child);
        return child;
    }

    /// <summary>Broker and backend for the Celery app; unbuffered UTF-8 output, so logs arrive as written; no __pycache__ next to the sources.</summary>
    private Dictionary<string, string> PythonEnvironment() => new(StringComparer.Ordinal)
    {
        ["CELERY_BROKER_URL"] = BrokerUrl,
        ["CELERY_RESULT_BACKEND"] = ResultBackendUrl,
        ["INTEROP_QUEUE"] = Queue,
        ["INTEROP_MAX_PRIORITY"] = Setup.MaxPriority?.ToString(CultureInfo.InvariantCulture) ?? "",
        ["INTEROP_VISIBILITY_TIMEOUT"] = VisibilityTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ["PYTHONUNBUFFERED"] = "1",
        ["PYTHONIOENCODING"] = "utf-8",
        ["PYTHONDONTWRITEBYTECODE"] = "1",
    };

    private static async Task FlushDatabaseAsync()
    {
        await using var redis = await ConnectAsync();
        await redis.GetServer(RedisTestServer.Endpoint).FlushDatabaseAsync(Database);
    }

    [GeneratedRegex(@"^.*@\S+ ready[.:]")]
    private static partial Regex ReadyLine();
}
