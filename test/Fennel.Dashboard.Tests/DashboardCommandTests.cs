using System.Net;
using System.Net.Sockets;
using Fennel.Cli;

namespace Fennel.Dashboard.Tests;

/// <summary>The standalone host: <c>fennel dashboard</c>.</summary>
public sealed class DashboardCommandTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("192.0.2.2")]
    public async Task Without_users_another_address_than_loopback_is_refused_with_exit_78(string address)
    {
        await using var app = TestApps.Create();
        Assert.Equal(ExitCodes.Config, await FennelCli.RunAsync(app, ["dashboard", "--address", address, "--port", "0", "--history", folder.NewFilePath("history.db")]));
    }

    [Fact]
    public async Task With_a_user_it_serves_the_API_behind_basic_authentication_and_keeps_history_in_the_given_file()
    {
        await using var app = TestApps.Create();
        var port = FreePort();
        var history = folder.NewFilePath("history.db");
        using var stop = new CancellationTokenSource();
        var run = FennelCli.RunAsync(app, ["dashboard", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--basic-auth", "admin:pw", "--history", history, "--for", "30"],
            cancellationToken: stop.Token);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        HttpResponseMessage? response = null;
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                response = await client.GetAsync("api/workers");
                return true;
            }
            catch (HttpRequestException)
            {
                return run.IsCompleted ? throw new InvalidOperationException($"The dashboard ended with {await run}.") : false;
            }
        }, "the dashboard listening");
        Assert.Equal(HttpStatusCode.Unauthorized, response!.StatusCode);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("admin:pw"u8.ToArray()));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/workers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/tasks")).StatusCode);
        Assert.True(File.Exists(history), "the history file is made where --history says");
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await run.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData("--history-max-age", "7")]
    [InlineData("--history-max-age", "7x")]
    [InlineData("--history-max-age", "0d")]
    [InlineData("--history-max-age", "-1h")]
    [InlineData("--history-max-age", "d")]
    [InlineData("--history-max-age", "1000000d")]
    [InlineData("--history-max-tasks", "0")]
    [InlineData("--history-max-tasks", "ten")]
    [InlineData("--metrics-token", "too-short")]
    public async Task Bad_history_bounds_and_metrics_tokens_exit_64(string option, string value)
    {
        await using var app = TestApps.Create();
        Assert.Equal(ExitCodes.Usage, await FennelCli.RunAsync(app, ["dashboard", "--port", "0", "--history", folder.NewFilePath("history.db"), option, value]));
    }

    [Theory]
    [InlineData("7d", 7 * 24 * 60)]
    [InlineData("12h", 12 * 60)]
    [InlineData("1.5h", 90)]
    [InlineData("90m", 90)]
    [InlineData("600s", 10)]
    [InlineData("2D", 2 * 24 * 60)]
    public void History_max_age_takes_days_hours_minutes_or_seconds(string text, int minutes) =>
        Assert.Equal(TimeSpan.FromMinutes(minutes), Fennel.Cli.Commands.DashboardCommand.ParseAge(text));

    [Fact]
    public async Task A_metrics_token_and_public_metrics_together_exit_64()
    {
        await using var app = TestApps.Create();
        Assert.Equal(ExitCodes.Usage, await FennelCli.RunAsync(app,
            ["dashboard", "--port", "0", "--history", folder.NewFilePath("history.db"), "--metrics-token", "0123456789abcdef-token", "--metrics-public"]));
    }

    [Fact]
    public async Task With_history_bounds_the_metrics_are_served_to_the_token_or_to_anyone_when_public()
    {
        await using var app = TestApps.Create();
        foreach (var (access, expectAnonymous) in new[] { ("--metrics-token", HttpStatusCode.Unauthorized), ("--metrics-public", HttpStatusCode.OK) })
        {
            var port = FreePort();
            using var stop = new CancellationTokenSource();
            string[] metrics = access == "--metrics-token" ? [access, "0123456789abcdef-token"] : [access];
            var run = FennelCli.RunAsync(app, ["dashboard", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--basic-auth", "admin:pw",
                "--history", folder.NewFilePath("history.db"), "--history-max-age", "12h", "--history-max-tasks", "500", .. metrics, "--for", "30"], cancellationToken: stop.Token);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            HttpResponseMessage? response = null;
            await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    response = await client.GetAsync("metrics");
                    return true;
                }
                catch (HttpRequestException)
                {
                    return run.IsCompleted ? throw new InvalidOperationException($"The dashboard ended with {await run}.") : false;
                }
            }, "the dashboard listening");
            Assert.Equal(expectAnonymous, response!.StatusCode);
            if (access == "--metrics-token")
            {
                client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "0123456789abcdef-token");
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("metrics")).StatusCode);
            }
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("api/workers")).StatusCode);
            await stop.CancelAsync();
            Assert.Equal(ExitCodes.Ok, await run.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
