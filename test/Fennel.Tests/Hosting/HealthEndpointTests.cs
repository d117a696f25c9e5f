using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Fennel.Hosting;
using Fennel.Worker;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Tests.Hosting;

public class HealthEndpointTests
{
    [Fact]
    public async Task A_running_worker_answers_200_and_a_stopping_one_503_over_real_http()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.echo", (int x) => x);
        var worker = app.CreateWorker();
        await using var health = HealthEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0),
            () => HealthReport.Of(worker, TimeProvider.System, WorkerLiveness.StaleAfter), NullLogger.Instance);

        var (status, body) = await GetAsync(health.EndPoint, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(503, status);
        Assert.Equal("starting", (string?)JsonNode.Parse(body)!["status"]);

        await worker.StartAsync();
        await Eventually.HoldsAsync(() => worker.LastFetchLoopActivity is not null, "the fetch loop");
        (status, body) = await GetAsync(health.EndPoint, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, status);
        var json = JsonNode.Parse(body)!;
        Assert.Equal("ok", (string?)json["status"]);
        Assert.Equal(worker.Name, (string?)json["node"]);
        Assert.Equal("running", (string?)json["state"]);
        Assert.True((double)json["fetch_loop_age_seconds"]! < 5);

        await worker.StopAsync();
        (status, body) = await GetAsync(health.EndPoint, "GET /healthz HTTP/1.1\r\n\r\n");
        Assert.Equal(503, status);
        Assert.Equal("stopped", (string?)JsonNode.Parse(body)!["status"]);
    }

    [Fact]
    public async Task The_fetch_loop_keeps_going_round_while_the_worker_idles()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.echo", (int x) => x);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        await Eventually.HoldsAsync(() => worker.LastFetchLoopActivity is not null, "the fetch loop");
        var first = worker.LastFetchLoopActivity!.Value;
        await Eventually.HoldsAsync(() => worker.LastFetchLoopActivity > first, "a second round", TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("POST /healthz HTTP/1.1\r\n\r\n", 405)]
    [InlineData("DELETE /healthz HTTP/1.1\r\n\r\n", 405)]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 404)]
    [InlineData("GET /healthz/../x HTTP/1.1\r\n\r\n", 404)]
    [InlineData("nonsense\r\n\r\n", 400)]
    [InlineData("GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", 200)]
    [InlineData("HEAD /healthz HTTP/1.1\r\n\r\n", 200)]
    public void Only_GET_healthz_is_served(string request, int expected)
    {
        var alive = new HealthReport("celery@x", WorkerState.Running, new WorkerLiveness(true, "ok", TimeSpan.Zero), 0, 0, 1);
        var (status, headers, _) = HealthEndpoint.Respond(request, () => alive);
        Assert.Equal(expected, status);
        if (expected == 405) Assert.Contains("Allow: GET, HEAD", headers, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(WorkerState.Running, 1.0, true, "ok")]
    [InlineData(WorkerState.Running, 31.0, false, "stuck")]
    [InlineData(WorkerState.Running, null, false, "starting")]
    [InlineData(WorkerState.Starting, null, false, "starting")]
    [InlineData(WorkerState.Stopping, 1.0, false, "stopping")]
    [InlineData(WorkerState.Stopped, 1.0, false, "stopped")]
    public void Liveness_needs_a_running_worker_whose_fetch_loop_went_round_lately(WorkerState state, double? secondsAgo, bool alive, string status)
    {
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        DateTimeOffset? last = secondsAgo is { } s ? now.AddSeconds(-s) : null;
        var liveness = WorkerLiveness.Evaluate(state, last, now, TimeSpan.FromSeconds(30));
        Assert.Equal(alive, liveness.Alive);
        Assert.Equal(status, liveness.Status);
    }

    [Theory]
    [InlineData("8090", "127.0.0.1:8090")]
    [InlineData("127.0.0.1:8090", "127.0.0.1:8090")]
    [InlineData("0.0.0.0:9000", "0.0.0.0:9000")]
    [InlineData("[::1]:8090", "[::1]:8090")]
    public void Parses_listen_addresses(string value, string expected) => Assert.Equal(expected, HealthEndpoint.ParseAddress(value).ToString());

    [Theory]
    [InlineData("localhost:8090")]
    [InlineData("127.0.0.1")]
    [InlineData("70000")]
    [InlineData("::1")]
    [InlineData("")]
    public void Refuses_other_listen_addresses(string value) => Assert.Throws<FormatException>(() => HealthEndpoint.ParseAddress(value));

    [Fact]
    public async Task A_port_in_use_fails_to_start()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        Assert.Throws<SocketException>(() => HealthEndpoint.Start((IPEndPoint)taken.LocalEndpoint, () => throw new InvalidOperationException(), NullLogger.Instance));
        await Task.CompletedTask;
    }

    private static async Task<(int Status, string Body)> GetAsync(IPEndPoint endPoint, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
    }
}
