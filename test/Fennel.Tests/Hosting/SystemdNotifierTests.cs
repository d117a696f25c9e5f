using System.Net.Sockets;
using System.Text;
using Fennel.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Tests.Hosting;

/// <summary>The sd_notify datagram protocol, against a real Unix datagram socket standing in for systemd.</summary>
public sealed class SystemdNotifierTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fennel-notify-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Ready_stopping_status_and_watchdog_arrive_as_datagrams_on_a_path_socket()
    {
        var path = Path.Combine(_folder, "notify");
        using var systemd = Bind(path);
        using var notifier = SystemdNotifier.Create(path, null, null, 42, NullLogger.Instance)!;

        Assert.True(notifier.Ready("Consuming celery"));
        var ready = Receive(systemd);
        Assert.Equal(["READY=1", $"MAINPID={Environment.ProcessId}", "STATUS=Consuming celery"], ready.Split('\n'));

        Assert.True(notifier.Watchdog());
        Assert.Equal("WATCHDOG=1", Receive(systemd));
        Assert.True(notifier.Status("two\nlines"));
        Assert.Equal("STATUS=two lines", Receive(systemd));
        Assert.True(notifier.Stopping("Warm shutdown"));
        Assert.Equal("STOPPING=1\nSTATUS=Warm shutdown", Receive(systemd));
    }

    [Fact]
    public void An_at_sign_names_a_socket_in_the_abstract_namespace()
    {
        var name = "fennel-test-" + Guid.NewGuid().ToString("N");
        using var systemd = Bind("\0" + name);
        using var notifier = SystemdNotifier.Create("@" + name, null, null, 42, NullLogger.Instance)!;
        Assert.True(notifier.Ready("up"));
        Assert.StartsWith("READY=1\n", Receive(systemd), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_NOTIFY_SOCKET_there_is_nothing_to_notify_and_other_schemes_are_refused()
    {
        Assert.Null(SystemdNotifier.Create(null, "1000000", null, 42, NullLogger.Instance));
        Assert.Null(SystemdNotifier.Create("", null, null, 42, NullLogger.Instance));
        Assert.Null(SystemdNotifier.Create("vsock:2:1234", null, null, 42, NullLogger.Instance));
    }

    [Theory]
    [InlineData("30000000", null, 30.0)]
    [InlineData("30000000", "42", 30.0)]
    [InlineData("30000000", "43", null)] // the watchdog is another process's
    [InlineData("0", null, null)]
    [InlineData("soon", null, null)]
    [InlineData(null, null, null)]
    public void The_watchdog_timeout_comes_from_WATCHDOG_USEC_when_it_is_for_this_process(string? usec, string? pid, double? seconds)
    {
        using var notifier = SystemdNotifier.Create(Path.Combine(_folder, "notify"), usec, pid, 42, NullLogger.Instance)!;
        Assert.Equal(seconds, notifier.WatchdogTimeout?.TotalSeconds);
    }

    [Fact]
    public void A_missing_socket_is_reported_not_thrown()
    {
        using var notifier = SystemdNotifier.Create(Path.Combine(_folder, "nobody-listens"), null, null, 42, NullLogger.Instance)!;
        Assert.False(notifier.Ready("up"));
    }

    private static Socket Bind(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.ReceiveTimeout = 5000;
        return socket;
    }

    private static string Receive(Socket socket)
    {
        var buffer = new byte[4096];
        var length = socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }
}
