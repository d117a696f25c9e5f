using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fennel.Dashboard.Tests.Security;

/// <summary>An embedded dashboard that signs users in with the host's own authentication (UseHostAuthentication).</summary>
public sealed class HostAuthenticationTests
{
    /// <summary>The host's scheme for the test: the user named in <c>X-Test-User</c>, with the roles in <c>X-Test-Roles</c>.</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers["X-Test-User"] is not [{ } name]) return Task.FromResult(AuthenticateResult.NoResult());
            var claims = new List<Claim> { new(ClaimTypes.Name, name) };
            claims.AddRange(Request.Headers["X-Test-Roles"].SelectMany(r => r!.Split(',')).Select(r => new Claim(ClaimTypes.Role, r)));
            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, "Header"));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, "Header")));
        }
    }

    private static async Task<(WebApplication Web, Uri Address)> StartAsync(FennelApp app, string folder)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication("Header").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("Header", null);
        builder.Services.AddFennelDashboard(app, o =>
        {
            o.UseHostAuthentication = true;
            o.History.Path = Path.Combine(folder, "history.db");
        });
        var web = builder.Build();
        web.MapFennelDashboard("/fennel");
        await web.StartAsync();
        var bound = new Uri(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return (web, new Uri(bound, "/fennel/"));
    }

    private static HttpClient Client(Uri address, string? user, string? roles = null)
    {
        var client = new HttpClient(new HttpClientHandler { UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = address };
        if (user is not null) client.DefaultRequestHeaders.Add("X-Test-User", user);
        if (roles is not null) client.DefaultRequestHeaders.Add("X-Test-Roles", roles);
        return client;
    }

    [Fact]
    public async Task The_hosts_users_see_the_dashboard_and_only_its_admin_role_may_act()
    {
        var folder = Directory.CreateTempSubdirectory("fennel-host-auth-").FullName;
        try
        {
            await using var app = FennelApp.CreateBuilder(["--loglevel", "warning"]).Configure(o => o.BrokerUrl = "memory://" + Guid.NewGuid().ToString("N")).Build();
            var (web, address) = await StartAsync(app, folder);
            await using var _ = web;

            using var nobody = Client(address, null);
            Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync("api/workers")).StatusCode);

            using var viewer = Client(address, "vera");
            var me = JsonNode.Parse(await viewer.GetStringAsync("api/me"))!;
            Assert.Equal("vera", me["user"]!.GetValue<string>());
            Assert.False(me["can_act"]!.GetValue<bool>());
            Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("api/workers")).StatusCode);
            await DashboardHost.UseAntiforgeryAsync(viewer);
            Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("api/workers/shutdown", JsonContent("""{"all":true}"""))).StatusCode);

            using var admin = Client(address, "ada", "fennel-admin");
            Assert.True(JsonNode.Parse(await admin.GetStringAsync("api/me"))!["can_act"]!.GetValue<bool>());
            await DashboardHost.UseAntiforgeryAsync(admin);
            using var acted = await admin.PostAsync("api/workers/pool_grow", JsonContent("""{"all":true,"arguments":{"n":1}}"""));
            Assert.Equal(HttpStatusCode.OK, acted.StatusCode);
            var audit = JsonNode.Parse(await admin.GetStringAsync("api/audit"))!["records"]!.AsArray();
            Assert.Contains(audit, r => r!.ToJsonString().Contains("\"ada\"", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Host_authentication_and_dashboard_users_exclude_each_other()
    {
        var options = new FennelDashboardOptions { UseHostAuthentication = true };
        options.Users.Add(FennelDashboardUser.Parse("admin:secret"));
        var error = Assert.Throws<FennelConfigurationException>(options.Validate);
        Assert.Contains("HostAdminRole", error.Message, StringComparison.Ordinal);
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
