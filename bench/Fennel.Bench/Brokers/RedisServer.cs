using System.Globalization;
using Fennel.Bench.Processes;
using StackExchange.Redis;

namespace Fennel.Bench.Brokers;

/// <summary>
/// The one redis-server both systems use in a run: a private one started on a free loopback port with persistence off,
/// or one given by URL (its database is flushed between measurements). Gives the run what it needs to watch the broker:
/// queue lengths, command counts and CPU time.
/// </summary>
internal sealed class RedisServer : IBenchBroker
{
    private readonly ConnectionMultiplexer _connection;
    private readonly ChildProcess? _process;
    private readonly string? _directory;

    private RedisServer(string url, int database, ConnectionMultiplexer connection, ChildProcess? process, string? directory)
    {
        Url = url;
        _connection = connection;
        _process = process;
        _directory = directory;
        Database = connection.GetDatabase(database);
        Server = connection.GetServers()[0];
    }

    /// <summary>The URL workers and clients connect to: <c>redis://127.0.0.1:PORT/DB</c>.</summary>
    public string Url { get; }

    public IDatabase Database { get; }

    public IServer Server { get; }

    /// <summary>The server's version, e.g. 7.0.15.</summary>
    public string Version => Server.Version.ToString();

    public string Kind => "redis";

    public string Description => $"redis-server {Version}";

    public string FennelBroker => Url;

    public string FennelResults => Url;

    public string CeleryBroker => Url;

    public string CeleryBackend => Url;

    /// <summary>Starts a private redis-server: loopback only, a free port, no RDB snapshots, no AOF.</summary>
    public static async Task<RedisServer> StartAsync(string redisServer, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("fennel-bench-redis.").FullName;
        var port = LoopbackPort.Free();
        var process = ChildProcess.Start("redis-server", redisServer,
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory, "--daemonize", "no"]);
        try
        {
            await process.WaitForLineAsync(line => line.Contains("Ready to accept connections", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10), cancellationToken);
            var url = $"redis://127.0.0.1:{port}/0";
            return new RedisServer(url, 0, await ConnectAsync("127.0.0.1", port, password: null), process, directory);
        }
        catch
        {
            await process.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>Uses a running server: <c>redis://[:password@]host:port/db</c>. That database is flushed by the run.</summary>
    public static async Task<RedisServer> OpenAsync(string url)
    {
        var uri = new Uri(url);
        if (uri.Scheme != "redis") throw new ArgumentException($"--redis expects a redis:// URL, not '{url}'.", nameof(url));
        var database = uri.AbsolutePath.Trim('/') is { Length: > 0 } db ? int.Parse(db, CultureInfo.InvariantCulture) : 0;
        var password = uri.UserInfo.Split(':', 2) is [_, var p] ? Uri.UnescapeDataString(p) : null;
        var port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port;
        return new RedisServer(url, database, await ConnectAsync(uri.Host, port, password), process: null, directory: null);
    }

    /// <summary>Deletes every key of the run's database: queues, results, kombu's bindings.</summary>
    public Task FlushAsync() => Database.ExecuteAsync("FLUSHDB");

    public Task ResetAsync() => FlushAsync();

    /// <summary>The length of a Redis list (a kombu queue is one).</summary>
    public Task<long> QueueLengthAsync(string queue) => Database.ListLengthAsync(queue);

    public async Task<BrokerSnapshot> SnapshotAsync()
    {
        var stats = await StatsAsync();
        return new BrokerSnapshot(TimeSpan.FromSeconds(stats.UserSeconds), TimeSpan.FromSeconds(stats.SystemSeconds), stats);
    }

    /// <summary>Command counts and CPU time of the server so far.</summary>
    public async Task<RedisStats> StatsAsync()
    {
        var commands = (string?)await Server.ExecuteAsync("INFO", "commandstats") ?? "";
        var cpu = (string?)await Server.ExecuteAsync("INFO", "cpu") ?? "";
        return RedisStats.Parse(commands + "\n" + cpu);
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(10));
            await _process.DisposeAsync();
        }
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(string host, int port, string? password)
    {
        var options = new ConfigurationOptions { EndPoints = { { host, port } }, Password = password, AllowAdmin = true, AbortOnConnectFail = true };
        return await ConnectionMultiplexer.ConnectAsync(options);
    }
}
