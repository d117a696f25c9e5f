using System.Text;
using System.Text.Json.Nodes;

namespace Fennel.Dashboard.Tests;

/// <summary>A reader of a server-sent event stream: events with their data, comments counted, EOF as null.</summary>
internal sealed class ServerSentEvents : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private ServerSentEvents(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public HttpResponseMessage Response => _response;

    public int Comments { get; private set; }

    public static async Task<ServerSentEvents> OpenAsync(HttpClient client, string path = "api/live")
    {
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {response.StatusCode}");
        return new ServerSentEvents(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event (its type and data), or null when the stream ends.</summary>
    public async Task<(string Event, string Data)?> NextAsync(CancellationToken cancellationToken)
    {
        string? type = null;
        var data = new StringBuilder();
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (type is not null || data.Length > 0) return (type ?? "message", data.ToString());
                continue;
            }
            if (line.StartsWith(':')) Comments++;
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Append(data.Length > 0 ? "\n" : "").Append(line["data: ".Length..]);
        }
        return null;
    }

    /// <summary>The next snapshot's JSON (failing at the stream's end or after <paramref name="timeout"/>).</summary>
    public async Task<JsonNode> NextSnapshotAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var next = await NextAsync(deadline.Token) ?? throw new InvalidOperationException("The live stream ended.");
            if (next.Event == "snapshot") return JsonNode.Parse(next.Data)!;
        }
    }

    /// <summary>Reads snapshots until one satisfies <paramref name="condition"/>.</summary>
    public async Task<JsonNode> WaitForSnapshotAsync(Func<JsonNode, bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until)
        {
            var snapshot = await NextSnapshotAsync();
            if (condition(snapshot)) return snapshot;
        }
        Assert.Fail($"Timed out waiting for a snapshot with {what}.");
        return null!;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
