using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Fennel.IntegrationTests;

/// <summary>
/// A redis-server of one test's own, for a test that must stop and restart its server (the shared one serves everybody
/// else). Loopback only, in a folder of its own, killed on dispose.
/// </summary>
internal sealed class PrivateRedis : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fennel-redis-").FullName;
    private readonly int _port = FreePort();
    private readonly bool _appendOnly;
    private ChildProcess? _process;

    private PrivateRedis(bool appendOnly) => _appendOnly = appendOnly;

    public string Url => $"redis://127.0.0.1:{_port}";

    public static async Task<PrivateRedis> StartAsync(bool appendOnly)
    {
        var server = new PrivateRedis(appendOnly);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Stops the server the way an operator does (SIGTERM: it writes its data and exits), then starts it again.</summary>
    public async Task RestartAsync(TimeSpan down)
    {
        _process!.Signal(ChildProcess.SigTerm);
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
        await Task.Delay(down);
        await StartProcessAsync();
    }

    private async Task StartProcessAsync()
    {
        _process = ChildProcess.Start("redis-server", "redis-server",
            ["--port", _port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--dir", _folder,
             "--appendonly", _appendOnly ? "yes" : "no", "--appendfsync", "always"],
            new Dictionary<string, string>(), _folder);
        await Eventually.HoldsAsync(() =>
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, _port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, () => "redis-server to listen.\n" + _process.Describe(), TimeSpan.FromSeconds(15));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        _process?.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
