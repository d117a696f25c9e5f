using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Fennel.Testing.Servers;

/// <summary>
/// The one RabbitMQ node a test run shares. <c>scripts/test.sh</c> starts it on free loopback ports and exports
/// <c>FENNEL_TEST_AMQP</c> (<c>amqp://guest:guest@127.0.0.1:PORT</c>) and <c>FENNEL_TEST_RABBITMQCTL</c> (a
/// <c>rabbitmqctl</c> bound to that node). Without them, outside CI, the first test that asks starts a private node the
/// same way (Debian's <c>rabbitmq-server</c>) for this test process and stops it at exit; under CI a missing node is a
/// failure.
/// </summary>
/// <remarks>Test projects keep out of each other's way by vhost: see <see cref="Url"/>.</remarks>
public static class RabbitMQTestServer
{
    /// <summary>The variable <c>scripts/test.sh</c> sets to the node's URL, without a vhost.</summary>
    public const string Variable = "FENNEL_TEST_AMQP";

    /// <summary>The variable <c>scripts/test.sh</c> sets to a <c>rabbitmqctl</c> script for the node.</summary>
    public const string RabbitmqctlVariable = "FENNEL_TEST_RABBITMQCTL";

    /// <summary>Where Debian's package keeps the scripts that run a node as the calling user (those in
    /// <c>/usr/sbin</c> switch to the rabbitmq user when called by root).</summary>
    private const string RabbitMQBin = "/usr/lib/rabbitmq/bin";

    private static readonly string[] VirtualHosts = ["fennel-tests", "interop", "integration", "other"];

    private static readonly Lazy<Node> Server = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// <c>amqp://guest:guest@127.0.0.1:PORT/vhost</c>. Vhosts by project: <c>fennel-tests</c> Fennel.RabbitMQ.Tests,
    /// <c>interop</c> Fennel.Interop.Tests, <c>integration</c> Fennel.IntegrationTests, <c>other</c> the RabbitMQ tests
    /// of other projects. Each exists, with every permission for guest.
    /// </summary>
    public static string Url(string vhost) => $"{Server.Value.Url.TrimEnd('/')}/{Uri.EscapeDataString(vhost)}";

    /// <summary><c>127.0.0.1:PORT</c>, for clients that want an endpoint rather than a URL.</summary>
    public static string Endpoint => new Uri(Server.Value.Url).Authority;

    /// <summary>
    /// Runs <c>rabbitmqctl</c> against the node and returns what it printed, for example
    /// <c>Rabbitmqctl("--quiet", "list_queues", "-p", "fennel-tests", "name", "messages_ready", "messages_unacknowledged")</c>,
    /// <c>Rabbitmqctl("stop_app")</c> and <c>Rabbitmqctl("start_app")</c> to play a broker restart, or <c>eval</c>.
    /// Each call starts an Erlang VM: about half a second.
    /// </summary>
    /// <exception cref="InvalidOperationException">rabbitmqctl failed; the message holds what it wrote to stderr.</exception>
    public static string Rabbitmqctl(params string[] args)
    {
        var rabbitmqctl = Server.Value.Rabbitmqctl ?? throw new InvalidOperationException(
            $"{Variable} is set but {RabbitmqctlVariable} is not: run the tests with 'bash scripts/test.sh', which sets both.");
        var info = new ProcessStartInfo(rabbitmqctl)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        var command = $"rabbitmqctl {string.Join(' ', args)}";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{command} did not finish in 2 minutes.");
        }
        process.WaitForExit(); // the end of its output
        if (process.ExitCode != 0)
        {
            var error = stderr.Result.Trim();
            throw new InvalidOperationException(
                $"{command} exited with {process.ExitCode}: {(error.Length > 0 ? error : stdout.Result.Trim())}");
        }
        return stdout.Result;
    }

    private sealed record Node(string Url, string? Rabbitmqctl);

    private static Node Locate()
    {
        var url = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(url))
        {
            var rabbitmqctl = Environment.GetEnvironmentVariable(RabbitmqctlVariable);
            return new Node(url.Trim(), string.IsNullOrWhiteSpace(rabbitmqctl) ? null : rabbitmqctl.Trim());
        }
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            throw new InvalidOperationException($"{Variable} is not set: run the tests with 'bash scripts/test.sh', which starts RabbitMQ.");
        }
        return StartPrivateNode();
    }

    /// <summary>The node <c>scripts/test.sh</c> starts, with the same settings: read that script for the why of each.</summary>
    private static Node StartPrivateNode()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException($"{Variable} is not set: start a RabbitMQ node and set it to its URL.");
        }
        if (!File.Exists(Path.Combine(RabbitMQBin, "rabbitmq-server")))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set and Debian's rabbitmq-server is not installed: run 'bash scripts/test.sh', which installs and starts it.");
        }
        var folder = Directory.CreateTempSubdirectory("fennel-rabbitmq-").FullName;
        var home = Directory.CreateDirectory(Path.Combine(folder, "home")).FullName;
        int amqpPort = FreePort(), distPort = FreePort(), epmdPort = FreePort();
        var name = $"fennel-test-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}@localhost";

        var cookie = Path.Combine(home, ".erlang.cookie");
        File.WriteAllText(cookie, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        File.SetUnixFileMode(cookie, UnixFileMode.UserRead);
        File.WriteAllText(Path.Combine(folder, "enabled_plugins"), "[].");
        File.WriteAllText(Path.Combine(folder, "rabbitmq-env.conf"), "");
        File.WriteAllText(Path.Combine(folder, "rabbitmq.conf"), $"""
            listeners.tcp.1 = 127.0.0.1:{amqpPort}
            # The long-task tests rely on this: a delivery unacknowledged for 20 s closes its channel (default 30 min).
            consumer_timeout = 20000
            load_definitions = {folder}/definitions.json

            """);
        File.WriteAllText(Path.Combine(folder, "definitions.json"), Definitions());
        var rabbitmqctl = Path.Combine(folder, "rabbitmqctl");
        File.WriteAllText(rabbitmqctl, $$"""
            #!/bin/sh
            export HOME='{{home}}' RABBITMQ_NODENAME='{{name}}' ERL_EPMD_PORT={{epmdPort}} \
              RABBITMQ_CONF_ENV_FILE='{{folder}}/rabbitmq-env.conf' RABBITMQ_CTL_DIST_PORT_MIN=0 RABBITMQ_CTL_DIST_PORT_MAX=0 \
              RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
            exec {{RabbitMQBin}}/rabbitmqctl "$@"

            """);
        File.SetUnixFileMode(rabbitmqctl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var output = new StringBuilder();
        var epmd = Start(new ProcessStartInfo("epmd")
        {
            ArgumentList = { "-port", epmdPort.ToString(CultureInfo.InvariantCulture), "-address", "127.0.0.1" },
        }, output);
        Process? server = null;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(server, epmd, folder);
        // epmd first, so the node does not start a daemon one that would outlive this process.
        WaitForPort(epmdPort, epmd, TimeSpan.FromSeconds(10), "epmd", output);

        var info = new ProcessStartInfo(Path.Combine(RabbitMQBin, "rabbitmq-server"))
        {
            Environment =
            {
                ["HOME"] = home,
                ["RABBITMQ_NODENAME"] = name,
                ["ERL_EPMD_PORT"] = epmdPort.ToString(CultureInfo.InvariantCulture),
                ["RABBITMQ_DIST_PORT"] = distPort.ToString(CultureInfo.InvariantCulture),
                ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(folder, "rabbitmq-env.conf"),
                ["RABBITMQ_CONFIG_FILE"] = Path.Combine(folder, "rabbitmq.conf"),
                ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(folder, "advanced.config"),
                ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(folder, "enabled_plugins"),
                ["RABBITMQ_MNESIA_BASE"] = Path.Combine(folder, "mnesia"),
                ["RABBITMQ_LOG_BASE"] = Path.Combine(folder, "log"),
                ["RABBITMQ_PID_FILE"] = Path.Combine(folder, "rabbitmq.pid"),
                ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
            },
        };
        server = Start(info, output);
        Watch(server, epmd, folder);
        // The node opens its AMQP listener last, after the vhosts are loaded: the port answering means ready.
        WaitForPort(amqpPort, server, TimeSpan.FromSeconds(60), "rabbitmq-server", output);
        return new Node($"amqp://guest:guest@127.0.0.1:{amqpPort}", rabbitmqctl);
    }

    /// <summary>Definitions the node loads at boot. They replace the default user, so guest is among them.</summary>
    private static string Definitions()
    {
        string[] vhosts = ["/", .. VirtualHosts];
        return JsonSerializer.Serialize(new
        {
            users = new[] { new { name = "guest", password = "guest", tags = "administrator" } },
            vhosts = vhosts.Select(vhost => new { name = vhost }),
            permissions = vhosts.Select(vhost => new { user = "guest", vhost, configure = ".*", write = ".*", read = ".*" }),
        });
    }

    private static Process Start(ProcessStartInfo info, StringBuilder output)
    {
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start.");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"{Variable} is not set and {info.FileName} could not start: run 'bash scripts/test.sh', which installs and starts RabbitMQ.", e);
        }
        DataReceivedEventHandler append = (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
        };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void WaitForPort(int port, Process process, TimeSpan timeout, string what, StringBuilder output)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(50);
            }
            catch (SocketException e)
            {
                string said;
                lock (output) said = output.ToString();
                throw new InvalidOperationException(
                    $"{what} did not listen on 127.0.0.1:{port} within {timeout.TotalSeconds:0} s" +
                    $"{(process.HasExited ? $" (it exited with {process.ExitCode})" : "")}. It said:{Environment.NewLine}{said}", e);
            }
        }
    }

    /// <summary>
    /// A watchdog outside this process: when the test host ends without running its exit handlers (the runner kills it
    /// once the tests are done), it stops the node and epmd and removes the folder, so nothing outlives the run.
    /// </summary>
    private static void Watch(Process server, Process epmd, string folder)
    {
        const string script = """
            while kill -0 "$0" 2>/dev/null; do sleep 1; done
            kill -TERM "$1" 2>/dev/null
            for _ in $(seq 15); do kill -0 "$1" 2>/dev/null || break; sleep 1; done
            kill -KILL "$1" 2>/dev/null; kill "$2" 2>/dev/null; rm -rf "$3"
            """;
        var info = new ProcessStartInfo("sh")
        {
            ArgumentList = { "-c", script, Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
                server.Id.ToString(CultureInfo.InvariantCulture), epmd.Id.ToString(CultureInfo.InvariantCulture), folder },
            UseShellExecute = false,
        };
        using var watchdog = Process.Start(info);
    }

    /// <summary>SIGTERM: rabbitmq-server stops the node and waits for it (about a second); SIGKILL after 15 s.</summary>
    private static void Stop(Process? server, Process epmd, string folder)
    {
        if (server is not null && !server.HasExited)
        {
            try
            {
                using var kill = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)]);
                kill?.WaitForExit();
            }
            catch (Win32Exception) { }
            if (!server.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                try { server.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
        try { epmd.Kill(); } catch (InvalidOperationException) { }
        epmd.WaitForExit(TimeSpan.FromSeconds(5));
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
