using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fennel.Testing.Servers;

/// <summary>
/// The one redis-server a test run shares. <c>scripts/test.sh</c> starts it on a free loopback port and exports
/// <c>FENNEL_TEST_REDIS</c> (<c>redis://127.0.0.1:PORT</c>). Without the variable, outside CI, the first test that asks
/// starts a private <c>redis-server</c> from PATH for this test process; under CI a missing server is a failure.
/// </summary>
/// <remarks>Test projects keep out of each other's way by database number: see <see cref="Url"/>.</remarks>
public static class RedisTestServer
{
    /// <summary>The variable <c>scripts/test.sh</c> sets.</summary>
    public const string Variable = "FENNEL_TEST_REDIS";

    private static readonly Lazy<string> BaseUrl = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// <c>redis://127.0.0.1:PORT/db</c>. Databases by project: 1 Fennel.Redis.Tests, 2 Fennel.Interop.Tests,
    /// 3 Fennel.IntegrationTests, 4 the Redis tests of other projects.
    /// </summary>
    public static string Url(int database) => $"{BaseUrl.Value.TrimEnd('/')}/{database}";

    /// <summary><c>127.0.0.1:PORT</c>, for clients that want an endpoint rather than a URL.</summary>
    public static string Endpoint => new Uri(BaseUrl.Value).Authority;

    private static string Locate()
    {
        var url = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(url)) return url.Trim();
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            throw new InvalidOperationException($"{Variable} is not set: run the tests with 'bash scripts/test.sh', which starts redis-server.");
        }
        return StartPrivateServer();
    }

    private static string StartPrivateServer()
    {
        var port = FreePort();
        var folder = Directory.CreateTempSubdirectory("fennel-redis-").FullName;
        var info = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", folder },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"{Variable} is not set and redis-server is not on PATH: run 'bash scripts/test.sh', which installs and starts it.", e);
        }
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { process.Kill(); } catch (InvalidOperationException) { }
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        };
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(50);
            }
        }
        return $"redis://127.0.0.1:{port}";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
