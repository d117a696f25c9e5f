using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Fennel.Bench.Processes;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Fennel.Bench.Brokers;

/// <summary>
/// The run's RabbitMQ: a private node started as scripts/test.sh starts one (Debian's scripts under
/// /usr/lib/rabbitmq/bin run directly, as whoever calls them), with everything of its own: a folder for its data and
/// logs, AMQP, distribution and epmd ports on loopback, node name and Erlang cookie; no plugins; the default
/// <c>consumer_timeout</c>. Or a running server given by URL, whose queues the run purges. Every system uses the vhost
/// <c>/</c>; Fennel and Celery keep results with <c>rpc://</c> (replies to the caller's queue).
/// </summary>
internal sealed class RabbitMQNode : IBenchBroker
{
    private const string Bin = "/usr/lib/rabbitmq/bin";

    /// <summary>The queues measurements fill; purged between them (never deleted: kombu remembers what it declared).</summary>
    private static readonly string[] Queues = ["celery", "bench.warmup", "bench.raw", "bench.raw.warmup"];

    private readonly IConnection _connection;
    private readonly ChildProcess? _server;
    private readonly ChildProcess? _epmd;
    private readonly string? _directory;

    private RabbitMQNode(string url, IConnection connection, ChildProcess? server, ChildProcess? epmd, string? directory)
    {
        Url = url;
        _connection = connection;
        _server = server;
        _epmd = epmd;
        _directory = directory;
        Version = connection.ServerProperties?.TryGetValue("version", out var v) == true && v is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "?";
    }

    /// <summary><c>amqp://guest:guest@127.0.0.1:PORT//</c> (the vhost <c>/</c>, written as kombu writes it).</summary>
    public string Url { get; }

    public string Version { get; }

    public string Kind => "amqp";

    public string Description => $"RabbitMQ {Version}";

    public string FennelBroker => Url;

    public string FennelResults => "rpc://";

    public string CeleryBroker => Url;

    public string CeleryBackend => "rpc://";

    /// <summary>The node's operating-system process (beam.smp under the rabbitmq-server script), for CPU time; null for a server given by URL.</summary>
    public int? ProcessId => _server?.Id;

    /// <summary>Starts a private node and waits until it accepts AMQP connections (5–15 s on 2 cores).</summary>
    public static async Task<RabbitMQNode> StartAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("A private RabbitMQ node needs Debian's rabbitmq-server; pass --amqp URL elsewhere.");
        if (!File.Exists(Path.Combine(Bin, "rabbitmq-server")))
        {
            throw new InvalidOperationException($"{Bin}/rabbitmq-server is missing (apt-get install rabbitmq-server).");
        }
        var directory = Directory.CreateTempSubdirectory("fennel-bench-rabbitmq.").FullName;
        ChildProcess? epmd = null, server = null;
        try
        {
            var home = Directory.CreateDirectory(Path.Combine(directory, "home")).FullName;
            int amqpPort = LoopbackPort.Free(), distPort = LoopbackPort.Free(), epmdPort = LoopbackPort.Free();
            var name = $"fennel-bench-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}@localhost";
            var cookie = Path.Combine(home, ".erlang.cookie");
            await File.WriteAllTextAsync(cookie, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), cancellationToken);
            File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
            await File.WriteAllTextAsync(Path.Combine(directory, "enabled_plugins"), "[].", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "rabbitmq-env.conf"), "", cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "rabbitmq.conf"), $"listeners.tcp.1 = 127.0.0.1:{amqpPort}\n", cancellationToken);

            // epmd first, ours, so the node does not start a daemon one that would outlive the run.
            epmd = ChildProcess.Start("epmd", "epmd", ["-port", Text(epmdPort), "-address", "127.0.0.1"]);
            await WaitForPortAsync(epmdPort, epmd, TimeSpan.FromSeconds(10), cancellationToken);
            server = ChildProcess.Start("rabbitmq-server", Path.Combine(Bin, "rabbitmq-server"), [], new Dictionary<string, string>
            {
                ["HOME"] = home,
                ["RABBITMQ_NODENAME"] = name,
                ["ERL_EPMD_PORT"] = Text(epmdPort),
                ["RABBITMQ_DIST_PORT"] = Text(distPort),
                ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(directory, "rabbitmq-env.conf"),
                ["RABBITMQ_CONFIG_FILE"] = Path.Combine(directory, "rabbitmq.conf"),
                ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(directory, "advanced.config"),
                ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(directory, "enabled_plugins"),
                ["RABBITMQ_MNESIA_BASE"] = Path.Combine(directory, "mnesia"),
                ["RABBITMQ_LOG_BASE"] = Path.Combine(directory, "log"),
                ["RABBITMQ_PID_FILE"] = Path.Combine(directory, "rabbitmq.pid"),
                ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
            }, directory);
            // The node opens its AMQP listener last: the port answering means ready.
            await WaitForPortAsync(amqpPort, server, TimeSpan.FromSeconds(120), cancellationToken);
            var url = $"amqp://guest:guest@127.0.0.1:{amqpPort}//";
            return new RabbitMQNode(url, await ConnectAsync(url, cancellationToken), server, epmd, directory);
        }
        catch
        {
            if (server is not null) await StopAsync(server);
            if (epmd is not null) await epmd.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>Uses a running server (<c>amqp://user:password@host:port/vhost</c>); the run purges its bench queues.</summary>
    public static async Task<RabbitMQNode> OpenAsync(string url, CancellationToken cancellationToken) =>
        new(url, await ConnectAsync(url, cancellationToken), server: null, epmd: null, directory: null);

    /// <summary>A connection to the node for the run's own work (counting, purging, the raw client's publishing).</summary>
    public static Task<IConnection> ConnectAsync(string url, CancellationToken cancellationToken, string name = "fennel-bench")
    {
        // RabbitMQ.Client reads the vhost as kombu does: "amqp://host:port//" is the vhost "/".
        var factory = new ConnectionFactory { Uri = new Uri(url), ClientProvidedName = name };
        return factory.CreateConnectionAsync(cancellationToken);
    }

    public async Task ResetAsync()
    {
        foreach (var queue in Queues)
        {
            await using var channel = await _connection.CreateChannelAsync();
            try
            {
                await channel.QueuePurgeAsync(queue);
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                // Not declared (yet).
            }
        }
    }

    public async Task<long> QueueLengthAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return 0;
        }
    }

    public Task<BrokerSnapshot> SnapshotAsync()
    {
        if (_server is null) return Task.FromResult(new BrokerSnapshot(TimeSpan.Zero, TimeSpan.Zero, null));
        var (user, system) = ProcessTree.CpuTimes(_server.Id);
        return Task.FromResult(new BrokerSnapshot(user, system, null));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _connection.CloseAsync();
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException)
        {
            // The node is gone already.
        }
        _connection.Dispose();
        if (_server is not null) await StopAsync(_server);
        if (_epmd is not null) await _epmd.DisposeAsync();
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }

    /// <summary>SIGTERM: the script stops the node and waits for it; 30 s later the whole tree is killed.</summary>
    private static async Task StopAsync(ChildProcess server)
    {
        await server.StopAsync(TimeSpan.FromSeconds(30));
        await server.DisposeAsync();
    }

    private static async Task WaitForPortAsync(int port, ChildProcess process, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (DateTimeOffset.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (System.Net.Sockets.SocketException)
            {
                throw new InvalidOperationException($"{process.Name} did not listen on 127.0.0.1:{port} within {timeout.TotalSeconds:0} s.\n{process.Describe()}");
            }
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
