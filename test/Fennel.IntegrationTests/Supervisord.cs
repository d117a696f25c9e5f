using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fennel.IntegrationTests;

/// <summary>
/// A private <c>supervisord -n</c> running the seed's two Fennel workers as programs <c>customers</c> (<c>-Q customers
/// -n customers.%h</c>) and <c>default</c> (the default queue), with the seed's settings: autorestart, startsecs=10,
/// stopwaitsecs=60, stopasgroup, killasgroup. Its config, socket, logs and the workers' pid and log files live in the
/// sandbox's folder; it is stopped (and, failing that, killed with its workers) on dispose.
/// </summary>
internal sealed class Supervisord : IAsyncDisposable
{
    public const int Concurrency = 4;
    public const int StopWaitSeconds = 60;

    private readonly IntegrationSandbox _sandbox;
    private readonly ChildProcess _process;

    private Supervisord(IntegrationSandbox sandbox, string configPath, int healthPort, ChildProcess process)
    {
        _sandbox = sandbox;
        ConfigPath = configPath;
        HealthPort = healthPort;
        _process = process;
    }

    public string ConfigPath { get; }

    /// <summary>Where the <c>customers</c> worker serves <c>/healthz</c> (on 127.0.0.1).</summary>
    public int HealthPort { get; }

    public string LogPath => Path.Combine(_sandbox.Folder, "supervisord.log");

    public string PidFilePath(string program) => Path.Combine(_sandbox.Folder, program + ".pid");

    /// <summary>The supervisord executable, or null when Supervisor is not installed (scripts/test.sh installs it).</summary>
    public static string? Executable { get; } = new[] { "/usr/bin/supervisord", "/usr/local/bin/supervisord" }.FirstOrDefault(File.Exists);

    public static Supervisord Start(IntegrationSandbox sandbox, IReadOnlyDictionary<string, string> workerEnvironment)
    {
        var executable = Executable ?? throw new InvalidOperationException(
            "supervisord is not installed: run the tests with scripts/test.sh (it installs Debian's supervisor) or apt-get install supervisor.");
        var folder = sandbox.Folder;
        var healthPort = FreePort();
        var environment = new Dictionary<string, string>(workerEnvironment, StringComparer.Ordinal)
        {
            ["FENNEL_BROKER_URL"] = sandbox.BrokerUrl,
            ["FENNEL_TEST_JOURNAL"] = sandbox.JournalPath,
        };
        var env = string.Join(',', environment.Select(kv => $"{kv.Key}=\"{kv.Value}\""));
        var dotnet = FindOnPath("dotnet");
        // '%' is Supervisor's own expansion character in its config: '%%' is one '%' for the worker's command line.
        var common = $"{dotnet} {TestAppLocation.Path} worker -c {Concurrency} -l info --shutdown-timeout 50 --logfile {folder}/%%p%%I.log";
        var config = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"""
                [unix_http_server]
                file={folder}/supervisor.sock

                [supervisord]
                logfile={folder}/supervisord.log
                pidfile={folder}/supervisord.pid
                childlogdir={folder}
                loglevel=info

                [rpcinterface:supervisor]
                supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

                [supervisorctl]
                serverurl=unix://{folder}/supervisor.sock
                """);
        foreach (var (program, args) in (ReadOnlySpan<(string, string)>)[
            ("customers", $"-Q customers -n customers.%%h --pidfile {folder}/customers.pid --health-listen 127.0.0.1:{healthPort}"),
            ("default", $"--pidfile {folder}/default.pid")])
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"""

                [program:{program}]
                command={common} {args}
                directory={folder}
                environment={env}
                autostart=true
                autorestart=true
                startsecs=10
                stopwaitsecs={StopWaitSeconds}
                stopasgroup=true
                killasgroup=true
                stdout_logfile={folder}/{program}.stdout.log
                stderr_logfile={folder}/{program}.stderr.log
                """);
        }
        var configPath = Path.Combine(folder, "supervisord.conf");
        File.WriteAllText(configPath, config.ToString());
        var process = ChildProcess.Start("supervisord", executable, ["-n", "-c", configPath], new Dictionary<string, string>(), folder);
        return new Supervisord(sandbox, configPath, healthPort, process);
    }

    /// <summary>Runs <c>supervisorctl -c CONFIG args</c>; returns its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> CtlAsync(params string[] args)
    {
        using var ctl = ChildProcess.Start("supervisorctl " + string.Join(' ', args), FindOnPath("supervisorctl"), ["-c", ConfigPath, .. args],
            new Dictionary<string, string>(), _sandbox.Folder);
        var exitCode = await ctl.WaitForExitAsync(TimeSpan.FromSeconds(StopWaitSeconds + 30));
        return (exitCode, (ctl.Stdout + "\n" + ctl.Stderr).Trim());
    }

    /// <summary>The program's state as <c>supervisorctl status</c> prints it (RUNNING, STARTING, STOPPED, …).</summary>
    public async Task<string> StateAsync(string program)
    {
        var (_, output) = await CtlAsync("status", program);
        var fields = output.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 1 && fields[0] == program ? fields[1] : output;
    }

    /// <summary>The program's main pid (0 when it is not running).</summary>
    public async Task<int> PidAsync(string program)
    {
        var (_, output) = await CtlAsync("pid", program);
        return int.TryParse(output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0;
    }

    public async Task WaitForStateAsync(string program, string state, TimeSpan timeout)
    {
        var last = "";
        await Eventually.HoldsAsync(async () => (last = await StateAsync(program)) == state,
            () => $"program {program} to be {state} (it is {last}).\n{Describe()}", timeout);
    }

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    /// <summary>supervisord's log and every worker's stderr, for failure messages.</summary>
    public string Describe()
    {
        var text = new StringBuilder().AppendLine("--- supervisord.log ---").AppendLine(ReadLog());
        foreach (var file in Directory.GetFiles(_sandbox.Folder, "*.stderr.log").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(file);
            text.AppendLine(CultureInfo.InvariantCulture, $"--- {Path.GetFileName(file)} (last 40 lines) ---");
            foreach (var line in lines.TakeLast(40)) text.AppendLine(line);
        }
        return text.Append(_process.Describe()).ToString();
    }

    /// <summary>Stops supervisord the way an operator does (SIGTERM: it stops every program, warm, then exits); kills
    /// it and everything under it when that takes too long.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Signal(ChildProcess.SigTerm);
                await _process.WaitForExitAsync(TimeSpan.FromSeconds(StopWaitSeconds + 15));
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            // Killed below with its whole tree.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists)
        ?? throw new FileNotFoundException($"{name} is not on PATH.");
}
