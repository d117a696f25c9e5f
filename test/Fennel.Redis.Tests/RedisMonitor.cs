using System.Net.Sockets;
using System.Text;
using Fennel.Testing.Servers;

namespace Fennel.Redis.Tests;

/// <summary>
/// <c>MONITOR</c> on a raw connection: the commands the server executes, as it prints them
/// (<c>1795611522.080614 [1 127.0.0.1:55398] "SETEX" "key" "86400" "value"</c>).
/// </summary>
internal sealed class RedisMonitor : IAsyncDisposable
{
    private readonly TcpClient _client = new();
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private Task? _reading;

    public static async Task<RedisMonitor> StartAsync()
    {
        var monitor = new RedisMonitor();
        var endpoint = RedisTestServer.Endpoint.Split(':');
        await monitor._client.ConnectAsync(endpoint[0], int.Parse(endpoint[1], System.Globalization.CultureInfo.InvariantCulture));
        var stream = monitor._client.GetStream();
        await stream.WriteAsync("*1\r\n$7\r\nMONITOR\r\n"u8.ToArray());
        var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Equal("+OK", await reader.ReadLineAsync());
        monitor._reading = Task.Run(async () =>
        {
            try
            {
                while (await reader.ReadLineAsync() is { } line)
                {
                    lock (monitor._gate) monitor._lines.Add(line);
                }
            }
            catch (IOException)
            {
                // Closed.
            }
            catch (ObjectDisposedException)
            {
                // Closed.
            }
        });
        return monitor;
    }

    /// <summary>The lines seen so far that contain <paramref name="text"/>.</summary>
    public IReadOnlyList<string> LinesWith(string text)
    {
        lock (_gate) return _lines.Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        if (_reading is not null) await _reading;
    }
}
