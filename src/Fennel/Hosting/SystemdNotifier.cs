using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Fennel.Hosting;

/// <summary>
/// Tells systemd how the worker is doing (<c>Type=notify</c>), as <c>sd_notify(3)</c> does, without libsystemd: one
/// datagram per notification (<c>READY=1</c>, <c>STOPPING=1</c>, <c>STATUS=…</c>, <c>WATCHDOG=1</c>, newline-separated)
/// to the Unix datagram socket named by <c>NOTIFY_SOCKET</c>: a path, or <c>@name</c> for the abstract namespace.
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();

    private SystemdNotifier(string address, UnixDomainSocketEndPoint endPoint, TimeSpan? watchdogTimeout, ILogger logger)
    {
        Address = address;
        _endPoint = endPoint;
        WatchdogTimeout = watchdogTimeout;
        _logger = logger;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>The socket, as <c>NOTIFY_SOCKET</c> named it.</summary>
    public string Address { get; }

    /// <summary>
    /// systemd's <c>WatchdogSec</c> (from <c>WATCHDOG_USEC</c>, when <c>WATCHDOG_PID</c> is absent or this process): the
    /// longest systemd waits between two <c>WATCHDOG=1</c> before it kills the worker; null when there is no watchdog.
    /// </summary>
    public TimeSpan? WatchdogTimeout { get; }

    /// <summary>
    /// The notifier systemd asked for through the environment, or null when <c>NOTIFY_SOCKET</c> is not set (not under
    /// systemd, or not <c>Type=notify</c>). The variables are then removed from this process's environment, as
    /// <c>sd_notify(unset_environment=1)</c> does, so child processes (pool processes) never notify in the worker's name.
    /// </summary>
    public static SystemdNotifier? FromEnvironment(ILogger logger)
    {
        var socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        var notifier = Create(socket, Environment.GetEnvironmentVariable("WATCHDOG_USEC"),
            Environment.GetEnvironmentVariable("WATCHDOG_PID"), Environment.ProcessId, logger);
        if (socket is not null)
        {
            foreach (var name in (string[])["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) Environment.SetEnvironmentVariable(name, null);
        }
        return notifier;
    }

    /// <summary>The notifier for these variable values (null when there is nothing to notify, or the socket is unsupported).</summary>
    public static SystemdNotifier? Create(string? notifySocket, string? watchdogUsec, string? watchdogPid, int processId, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        if (string.IsNullOrEmpty(notifySocket)) return null;
        string path;
        if (notifySocket[0] == '@' && notifySocket.Length > 1) path = "\0" + notifySocket[1..]; // the abstract namespace
        else if (notifySocket[0] == '/') path = notifySocket;
        else
        {
            // vsock:… (systemd 254, for virtual machines) and anything else: not for a worker process.
            Log.SystemdSocketUnsupported(logger, notifySocket);
            return null;
        }
        TimeSpan? watchdog = null;
        var forUs = string.IsNullOrEmpty(watchdogPid)
            || (int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid == processId);
        if (forUs && ulong.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out var usec) && usec > 0)
        {
            watchdog = TimeSpan.FromMicroseconds(usec);
        }
        return new SystemdNotifier(notifySocket, new UnixDomainSocketEndPoint(path), watchdog, logger);
    }

    /// <summary>
    /// Sends one notification: <c>KEY=value</c> lines (<c>READY=1</c>, <c>STATUS=…</c>). A failure is logged, never thrown:
    /// systemd being unreachable must not stop the worker (without READY it times the start out and says so itself).
    /// </summary>
    /// <returns>True when the datagram was sent.</returns>
    public bool Notify(params string[] assignments)
    {
        var text = string.Join('\n', assignments.Select(a => a.ReplaceLineEndings(" ")));
        try
        {
            lock (_gate) _socket.SendTo(Encoding.UTF8.GetBytes(text), SocketFlags.None, _endPoint);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Log.SystemdNotifyFailed(_logger, text, Address, ex);
            return false;
        }
    }

    /// <summary><c>READY=1</c>, the main pid and a status line.</summary>
    public bool Ready(string status) =>
        Notify("READY=1", "MAINPID=" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "STATUS=" + status);

    /// <summary><c>STOPPING=1</c> and a status line.</summary>
    public bool Stopping(string status) => Notify("STOPPING=1", "STATUS=" + status);

    /// <summary>A status line (<c>systemctl status</c> shows it).</summary>
    public bool Status(string status) => Notify("STATUS=" + status);

    /// <summary><c>WATCHDOG=1</c>: the worker is alive.</summary>
    public bool Watchdog() => Notify("WATCHDOG=1");

    public void Dispose()
    {
        lock (_gate) _socket.Dispose();
    }
}
