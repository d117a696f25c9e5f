using System.Net.Sockets;
using System.Text;
using Fennel.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Tests.Hosting;

/// <summary>The watchdog pings follow the worker's fetch loop; a stuck loop stops them (a real datagram socket as systemd).</summary>
public sealed class SystemdWorkerNotificationsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fennel-watchdog-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_running_worker_pings_the_watchdog_and_a_stop_from_elsewhere_is_notified()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.echo", (int x) => x);
        var worker = app.CreateWorker();
        using var systemd = Bind(out var path);
        using var notifier = SystemdNotifier.Create(path, "200000", null, Environment.ProcessId, NullLogger.Instance)!;
        var notifications = new SystemdWorkerNotifications(notifier, worker, TimeProvider.System, NullLogger.Instance);
        await worker.StartAsync();
        notifications.Ready();
        var running = Task.Run(notifications.RunAsync);

        await ReceiveAsync(systemd, m => m.StartsWith("READY=1", StringComparison.Ordinal));
        await ReceiveAsync(systemd, m => m == "WATCHDOG=1");
        await ReceiveAsync(systemd, m => m == "WATCHDOG=1");

        _ = worker.StopAsync(); // a remote shutdown, say: no signal went through the command
        await ReceiveAsync(systemd, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));
        await running.WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_fetch_loop_that_has_not_gone_round_for_too_long_gets_no_pings()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.echo", (int x) => x);
        await using var worker = app.CreateWorker();
        using var systemd = Bind(out var path);
        using var notifier = SystemdNotifier.Create(path, "200000", null, Environment.ProcessId, NullLogger.Instance)!;
        // The watchdog's clock runs a minute ahead of the worker's: its fetch loop looks a minute old.
        var late = new SkewedTime(WorkerLiveness.StaleAfter + TimeSpan.FromSeconds(30));
        var notifications = new SystemdWorkerNotifications(notifier, worker, late, NullLogger.Instance);
        await worker.StartAsync();
        var running = Task.Run(notifications.RunAsync);

        var seen = await CollectAsync(systemd, TimeSpan.FromSeconds(1.5));
        Assert.Contains(seen, m => m.StartsWith("STATUS=Stuck", StringComparison.Ordinal));
        Assert.DoesNotContain("WATCHDOG=1", seen);

        await worker.StopAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(15));
    }

    private Socket Bind(out string path)
    {
        path = Path.Combine(_folder, Guid.NewGuid().ToString("N")[..8]);
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket, Func<string, bool> wanted)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[4096];
        while (true)
        {
            var message = Encoding.UTF8.GetString(buffer, 0, await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token));
            if (wanted(message)) return message;
        }
    }

    private static async Task<List<string>> CollectAsync(Socket socket, TimeSpan during)
    {
        var seen = new List<string>();
        using var deadline = new CancellationTokenSource(during);
        var buffer = new byte[4096];
        try
        {
            while (true) seen.Add(Encoding.UTF8.GetString(buffer, 0, await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)));
        }
        catch (OperationCanceledException)
        {
            return seen;
        }
    }

    private sealed class SkewedTime(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + ahead;
    }
}
