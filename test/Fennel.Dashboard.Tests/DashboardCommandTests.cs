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
        Assert.Equal(ExitCodes.Config, await FennelCli.RunAsync(app, ["dashboard", "--address", address, "--port", "0", "--history", folder.NewDatabasePath()]));
    }

    [Fact]
    public async Task With_a_user_it_serves_the_API_behind_basic_authentication_and_keeps_history_in_the_given_file()
    {
        await using var app = TestApps.Create();
        var port = FreePort();
        var history = folder.NewDatabasePath();
        using var stop = new CancellationTokenSource();
        var run = FennelCli.RunAsync(app, ["dashboard", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--basic-auth", "admin:pw", "--history", history, "--for", "30"],
            cancellationToken: stop.Token);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        HttpResponseMessage? response = null;
        await TestApps.WaitUntilAsync(async () =>
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
