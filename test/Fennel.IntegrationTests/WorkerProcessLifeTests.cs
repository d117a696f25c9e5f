using System.Net.Sockets;
using System.Text;

namespace Fennel.IntegrationTests;

/// <summary>
/// A worker process as a supervisor sees it: systemd's notify protocol and watchdog (a real datagram socket standing in
/// for systemd), the pid file, and the exit codes of a start that cannot go on.
/// </summary>
public sealed class WorkerProcessLifeTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly IntegrationSandbox _sandbox = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Under_systemd_a_worker_notifies_ready_pings_the_watchdog_and_notifies_stopping_on_SIGTERM()
    {
        var socketPath = Path.Combine(_sandbox.Folder, "notify");
        using var systemd = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        systemd.Bind(new UnixDomainSocketEndPoint(socketPath));
        var worker = _sandbox.StartTestApp("worker", ["worker", "-Q", "celery", "-c", "2", "-l", "info"],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "2000000" });

        var ready = await ReceiveUntilAsync(systemd, m => m.Contains("READY=1", StringComparison.Ordinal), worker);
        Assert.Contains($"MAINPID={worker.Id}", ready, StringComparison.Ordinal);
        Assert.Contains("STATUS=Consuming celery", ready, StringComparison.Ordinal);
        await ReceiveUntilAsync(systemd, m => m == "WATCHDOG=1", worker);
        await ReceiveUntilAsync(systemd, m => m == "WATCHDOG=1", worker); // and again: it keeps pinging

        worker.Signal(ChildProcess.SigTerm);
        var stopping = await ReceiveUntilAsync(systemd, m => m.Contains("STOPPING=1", StringComparison.Ordinal), worker);
        Assert.Contains("STATUS=Warm shutdown", stopping, StringComparison.Ordinal);
        Assert.Equal(0, await worker.WaitForExitAsync(Wait));
    }

    [Fact]
    public async Task A_second_worker_on_a_live_pidfile_exits_73_and_the_first_removes_the_file_when_it_stops()
    {
        var pidFile = Path.Combine(_sandbox.Folder, "run", "%n.pid");
        var expanded = Path.Combine(_sandbox.Folder, "run", "w1.pid");
        var first = _sandbox.StartTestApp("first", "worker", "-n", "w1@%h", "--pidfile", pidFile, "-l", "warning");
        await Eventually.HoldsAsync(() => File.Exists(expanded) && File.ReadAllText(expanded) == $"{first.Id}\n",
            () => $"{expanded} to hold {first.Id}.\n{first.Describe()}", Wait);

        var (second, exitCode) = await _sandbox.RunTestAppAsync("second", Wait, "worker", "-n", "w1@%h", "--pidfile", pidFile, "-l", "warning");
        Assert.True(exitCode == 73, $"The second worker exited {exitCode}, not 73.\n{second.Describe()}");
        Assert.Contains($"names process {first.Id}, which is running", second.Stderr, StringComparison.Ordinal);
        Assert.Equal($"{first.Id}\n", await File.ReadAllTextAsync(expanded));

        first.Signal(ChildProcess.SigTerm);
        Assert.Equal(0, await first.WaitForExitAsync(Wait));
        Assert.False(File.Exists(expanded), "The pid file outlived its worker.");
    }

    [Theory]
    [InlineData("--logfile", "w-%z.log")]
    [InlineData("--pidfile", "w-%z.pid")]
    [InlineData("--health-listen", "localhost:8090")]
    public async Task A_bad_path_or_address_is_a_usage_error(string option, string value)
    {
        var (worker, exitCode) = await _sandbox.RunTestAppAsync("worker", Wait, "worker", option, value);
        Assert.True(exitCode == 64, $"worker {option} {value} exited {exitCode}, not 64.\n{worker.Describe()}");
        Assert.StartsWith("error: ", worker.Stderr, StringComparison.Ordinal);
    }

    private static async Task<string> ReceiveUntilAsync(Socket socket, Func<string, bool> wanted, ChildProcess worker)
    {
        using var deadline = new CancellationTokenSource(Wait);
        var seen = new List<string>();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var length = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                var message = Encoding.UTF8.GetString(buffer, 0, length);
                if (wanted(message)) return message;
                seen.Add(message);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The wanted notification did not come; got: [{string.Join(" | ", seen)}].\n{worker.Describe()}");
        }
    }
}
