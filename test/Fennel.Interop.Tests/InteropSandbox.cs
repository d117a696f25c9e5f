using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Fennel.Testing.Servers;
using StackExchange.Redis;

namespace Fennel.Interop.Tests;

/// <summary>
/// What one interop test works in: Redis database 2 of the test server, flushed at the start; a queue of its own; the
/// worker and client processes it started (all killed on dispose, pass or fail); an in-process Fennel app on the same
/// Redis; and a temporary folder for the files it hands to Python.
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

    private InteropSandbox(string redisUrl)
    {
        RedisUrl = redisUrl;
        Queue = "interop-" + Guid.NewGuid().ToString("N")[..8];
        Folder = Directory.CreateTempSubdirectory("fennel-interop-").FullName;
    }

    /// <summary>
    /// The visibility timeout both sides use, stated on both so they agree: kombu's default, which Fennel's Redis
    /// transport shares. No test waits for it (nothing is killed), and a shorter one would let a restore fire while a
    /// Celery worker holds an ETA task (Celery workers do not renew) and run that task twice.
    /// </summary>
    public static readonly TimeSpan VisibilityTimeout = TimeSpan.FromSeconds(3600);

    /// <summary><c>redis://127.0.0.1:PORT/2</c>: broker and result backend of both sides.</summary>
    public string RedisUrl { get; }

    /// <summary>The broker URL Fennel processes get: <see cref="RedisUrl"/> with <c>?visibility_timeout=</c>.</summary>
    public string FennelBrokerUrl => $"{RedisUrl}?visibility_timeout={VisibilityTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>This test's queue, <c>interop-&lt;8 hex&gt;</c>: what the workers consume and the clients send to.</summary>
    public string Queue { get; }

    public string Folder { get; }

    /// <summary>An app in the test process on the same Redis: the Fennel client and its results.</summary>
    public FennelApp App => _app ??= FennelApp.CreateBuilder(["-b", FennelBrokerUrl, "--result-backend", RedisUrl, "-l", "warning"]).Build();

    /// <summary>Locates the test Redis (a failure under CI when there is none) and empties database 2.</summary>
    public static async Task<InteropSandbox> CreateAsync()
    {
        var url = RedisTestServer.Url(Database);
        await FlushDatabaseAsync();
        return new InteropSandbox(url);
    }

    /// <summary>Starts <c>dotnet Interop.dll worker</c> on this test's queue with node name <c>interop-net@%h</c>.</summary>
    public ChildProcess StartFennelWorker(int concurrency = 4) => Start("Fennel worker", "dotnet",
        [InteropLocations.SampleDll, "worker", "-b", FennelBrokerUrl, "--result-backend", RedisUrl, "-Q", Queue, "-n", "interop-net@%h",
            "-c", concurrency.ToString(CultureInfo.InvariantCulture), "-l", "info"],
        new Dictionary<string, string>(), Folder);

    /// <summary>Starts <c>python3 -m celery -A interop_tasks worker</c> (threads pool) on this test's queue as <c>interop-py@%h</c>.</summary>
    public ChildProcess StartCeleryWorker(int concurrency = 4) => Start("Celery worker", InteropLocations.Python,
        ["-m", "celery", "-A", "interop_tasks", "worker", "-Q", Queue, "-n", "interop-py@%h", "-P", "threads",
            "-c", concurrency.ToString(CultureInfo.InvariantCulture), "-l", "info"],
        PythonEnvironment(), InteropLocations.PythonFolder);

    /// <summary>Waits until a worker logged that it is ready (Fennel: "&lt;node&gt; ready: ...", Celery: "&lt;node&gt; ready.").</summary>
    public static async Task WaitUntilReadyAsync(ChildProcess worker)
    {
        bool Ready() => worker.StderrLines.Any(l => ReadyLine().IsMatch(l));
        await Eventually.HoldsAsync(() => Ready() || worker.HasExited, StartTimeout, () => $"{worker.Name} to log that it is ready.\n{worker.Describe()}");
        if (!Ready()) throw new InvalidOperationException($"{worker.Name} exited before it was ready.\n{worker.Describe()}");
    }

    /// <summary>
    /// Runs python/send_tasks.py with <paramref name="calls"/> and returns its report's results by call key. The client
    /// waits up to <paramref name="resultTimeout"/> for the results, the test a little longer for the process.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, JsonObject> Results, ChildProcess Client)> RunCeleryClientAsync(
        IEnumerable<ContractCall> calls, TimeSpan resultTimeout)
    {
        var callsFile = Path.Combine(Folder, "calls.json");
        await File.WriteAllTextAsync(callsFile, new JsonArray([.. calls.Select(c => (JsonNode)c.ToCeleryCall())]).ToJsonString());
        var client = Start("Celery client", InteropLocations.Python,
            ["send_tasks.py", "--broker", RedisUrl, "--result-backend", RedisUrl, "--queue", Queue,
                "--timeout", resultTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture), "--calls", callsFile],
            PythonEnvironment(), InteropLocations.PythonFolder);
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
        return (results.Cast<JsonObject>().ToDictionary(r => r["key"]!.GetValue<string>(), StringComparer.Ordinal), client);
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

    public async ValueTask DisposeAsync()
    {
        List<ChildProcess> children;
        lock (_children) children = [.. _children];
        foreach (var child in children) child.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary folder.
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
        ["CELERY_BROKER_URL"] = RedisUrl,
        ["CELERY_RESULT_BACKEND"] = RedisUrl,
        ["INTEROP_QUEUE"] = Queue,
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
