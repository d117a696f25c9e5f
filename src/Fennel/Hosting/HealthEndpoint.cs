using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Fennel.Hosting;

/// <summary>
/// A liveness check for orchestrators (<c>--health-listen</c>): <c>GET /healthz</c> answers 200 with a small JSON document
/// while the worker runs and its fetch loop goes round, 503 when it is starting, stopping or stuck. It asks the broker
/// nothing (a broker outage is no reason to restart a worker), and is a plain HTTP/1.1 responder on a socket: no web
/// framework. One request per connection; other paths are 404, other methods 405.
/// </summary>
internal sealed class HealthEndpoint : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpListener _listener;
    private readonly Func<HealthReport> _report;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _accepting = Task.CompletedTask;

    private HealthEndpoint(TcpListener listener, Func<HealthReport> report, ILogger logger)
    {
        _listener = listener;
        _report = report;
        _logger = logger;
    }

    /// <summary>Where it listens (the port filled in when 0 was asked for).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>
    /// Parses <c>--health-listen</c>: <c>PORT</c> (on 127.0.0.1), <c>IP:PORT</c> or <c>[IPv6]:PORT</c>. Host names are not
    /// taken: a probe address should not depend on name resolution.
    /// </summary>
    /// <exception cref="FormatException">The value is none of these.</exception>
    public static IPEndPoint ParseAddress(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }
        if (IPEndPoint.TryParse(value, out var endPoint) && endPoint.Port > 0 && value.Contains(':', StringComparison.Ordinal)
            && (endPoint.AddressFamily == AddressFamily.InterNetwork ? value.Count(c => c == ':') == 1 : value.StartsWith('[')))
        {
            return endPoint;
        }
        throw new FormatException($"--health-listen expects PORT, IP:PORT or [IPv6]:PORT (e.g. 127.0.0.1:8090), not '{value}'.");
    }

    /// <summary>Listens on <paramref name="endPoint"/> and serves until disposed.</summary>
    /// <exception cref="SocketException">The address cannot be bound (in use, not local).</exception>
    public static HealthEndpoint Start(IPEndPoint endPoint, Func<HealthReport> report, ILogger logger)
    {
        var listener = new TcpListener(endPoint);
        // A worker restarted at once (Supervisor's autorestart) binds again while the last one's closed probe connections
        // linger in TIME_WAIT. On Linux this never lets two listeners share the port.
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        var health = new HealthEndpoint(listener, report, logger);
        health._accepting = Task.Run(health.AcceptAsync);
        Log.HealthListening(logger, health.EndPoint.ToString());
        return health;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException && _stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // the client gave up before we accepted it
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var remote = client.Client.RemoteEndPoint?.ToString() ?? "?";
        try
        {
            using (client)
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                timeout.CancelAfter(ReadTimeout);
                var stream = client.GetStream();
                var request = await ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false);
                var (status, headers, body) = Respond(request, _report);
                var bytes = Encoding.UTF8.GetBytes(body);
                var head = new StringBuilder()
                    .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {Reason(status)}\r\n")
                    .Append("Content-Type: ").Append(body.StartsWith('{') ? "application/json" : "text/plain; charset=utf-8").Append("\r\n")
                    .Append(CultureInfo.InvariantCulture, $"Content-Length: {bytes.Length}\r\n")
                    .Append("Cache-Control: no-store\r\nConnection: close\r\n")
                    .Append(headers)
                    .Append("\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), timeout.Token).ConfigureAwait(false);
                if (!request.StartsWith("HEAD ", StringComparison.Ordinal)) await stream.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Log.HealthRequestFailed(_logger, remote, ex);
        }
    }

    /// <summary>Reads up to the blank line that ends the request head (a probe sends no body); "" when it never came.</summary>
    private static async Task<string> ReadHeadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0 || buffer.AsSpan(0, length).IndexOf("\n\n"u8) >= 0) break;
        }
        return Encoding.ASCII.GetString(buffer, 0, length);
    }

    /// <summary>The status, extra header lines and body for a request head.</summary>
    internal static (int Status, string Headers, string Body) Respond(string requestHead, Func<HealthReport> report)
    {
        var line = requestHead.Split('\n', 2)[0].TrimEnd('\r');
        var parts = line.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal)) return (400, "", "bad request\n");
        var path = parts[1].Split('?', 2)[0];
        if (path != "/healthz") return (404, "", "not found: the health check is GET /healthz\n");
        if (parts[0] is not ("GET" or "HEAD")) return (405, "Allow: GET, HEAD\r\n", "method not allowed: use GET\n");
        var health = report();
        return (health.Liveness.Alive ? 200 : 503, "", health.ToJson());
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
}

/// <summary>What <c>/healthz</c> says about a worker.</summary>
internal sealed record HealthReport(string Node, Worker.WorkerState State, WorkerLiveness Liveness, int Running, long Processed, int ProcessId)
{
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("status", Liveness.Status);
            json.WriteString("node", Node);
            json.WriteString("state", State.ToString().ToLowerInvariant());
            json.WriteNumber("pid", ProcessId);
            json.WriteNumber("running", Running);
            json.WriteNumber("processed", Processed);
            if (Liveness.SinceFetchLoop is { } since) json.WriteNumber("fetch_loop_age_seconds", Math.Round(since.TotalSeconds, 3));
            else json.WriteNull("fetch_loop_age_seconds");
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>The report for <paramref name="worker"/> now.</summary>
    public static HealthReport Of(Worker.Worker worker, TimeProvider time, TimeSpan staleAfter) =>
        new(worker.Name, worker.State, WorkerLiveness.Of(worker, time, staleAfter), worker.Running, worker.Processed, Environment.ProcessId);
}
