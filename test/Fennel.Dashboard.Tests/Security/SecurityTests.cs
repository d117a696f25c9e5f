using System.Text.Json.Nodes;
using System.Net;
using System.Net.Http.Json;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;

namespace Fennel.Dashboard.Tests.Security;

/// <summary>reliability.md S01–S06 over real HTTP against Kestrel on a loopback port.</summary>
public class SecurityTests
{
    private static readonly string[] Reads =
        ["", "api/workers", "api/workers/a@x", "api/overview", "api/tasks", "api/tasks/some-id", "api/queues", "api/audit", "api/csrf", "api/live", "metrics", "no/such/page"];

    private static readonly string[] Actions =
    [
        "api/workers/shutdown", "api/workers/pool_restart", "api/workers/pool_grow", "api/workers/pool_shrink",
        "api/workers/add_consumer", "api/workers/cancel_consumer", "api/workers/rate_limit", "api/tasks/some-id/revoke",
    ];

    private static void Users(FennelDashboardOptions o)
    {
        o.Users.Add(FennelDashboardUser.Parse("admin:right"));
        o.Users.Add(FennelDashboardUser.Parse("viewer:look", readOnly: true));
    }

    [Fact]
    public async Task Every_route_without_credentials_is_401_with_a_basic_challenge()
    {
        await using var app = TestApps.Create();
        // Throttling has its own test: here every wrong password must meet a plain 401.
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            Users(o);
            o.MaxFailedLogins = 1000;
        });
        using var anonymous = host.Client();
        using var wrong = host.Client("admin", "wrong");
        foreach (var client in new[] { anonymous, wrong })
        {
            foreach (var path in Reads.Concat(Actions))
            {
                using var get = await client.GetAsync(path);
                Assert.True(get.StatusCode == HttpStatusCode.Unauthorized, $"GET {path}: {get.StatusCode}");
                Assert.StartsWith("Basic realm=", get.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            }
            foreach (var path in Actions)
            {
                using var post = await client.PostAsJsonAsync(path, new { all = true });
                Assert.True(post.StatusCode == HttpStatusCode.Unauthorized, $"POST {path}: {post.StatusCode}");
            }
        }
        using var signedIn = host.Client("admin", "right");
        Assert.Equal(HttpStatusCode.OK, (await signedIn.GetAsync("api/workers")).StatusCode);
    }

    [Fact]
    public async Task Actions_answer_405_to_other_methods_than_POST()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var client = host.Client("admin", "right");
        foreach (var path in Actions)
        {
            using var get = await client.GetAsync(path);
            Assert.True(get.StatusCode == HttpStatusCode.MethodNotAllowed, $"GET {path}: {get.StatusCode}");
            Assert.Contains("POST", get.Content.Headers.Allow);
            using var delete = await client.DeleteAsync(path);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        }
    }

    [Fact]
    public async Task A_control_POST_without_the_antiforgery_token_or_from_another_origin_is_403()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var client = host.Client("admin", "right");
        using var missing = await client.PostAsJsonAsync("api/workers/pool_grow", new { all = true });
        Assert.Equal(HttpStatusCode.Forbidden, missing.StatusCode);
        using var revoke = await client.PostAsync("api/tasks/some-id/revoke", null);
        Assert.Equal(HttpStatusCode.Forbidden, revoke.StatusCode);

        await DashboardHost.UseAntiforgeryAsync(client);
        using var foreign = new HttpRequestMessage(HttpMethod.Post, "api/workers/pool_grow") { Content = JsonContent.Create(new { all = true }) };
        foreign.Headers.Add("Origin", "https://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(foreign)).StatusCode);

        // Another user's token does not pass either: tokens are bound to the user.
        using var viewer = host.Client("viewer", "look");
        await DashboardHost.UseAntiforgeryAsync(viewer);
        using var admin2 = host.Client("admin", "right");
        admin2.DefaultRequestHeaders.Add("RequestVerificationToken", viewer.DefaultRequestHeaders.GetValues("RequestVerificationToken").Single());
        Assert.Equal(HttpStatusCode.Forbidden, (await admin2.PostAsJsonAsync("api/workers/pool_grow", new { all = true })).StatusCode);

        using var ok = await client.PostAsJsonAsync("api/workers/pool_grow", new { all = true });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.DoesNotContain(host.Log.Records, r => r.EventId == 8000 && r.Message.Contains("viewer", StringComparison.Ordinal));
        Assert.Single(host.Log.Records, r => r.EventId == 8000);
        Assert.Equal(4, host.Log.Records.Count(r => r.EventId == 8003));
        // The refused attempts are in the audit too, with who and why.
        var refused = JsonNode.Parse(await client.GetStringAsync("api/audit"))!["records"]!.AsArray()
            .Where(r => r!["outcome"]!.GetValue<string>().StartsWith("refused:", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, refused.Count);
        Assert.Contains(refused, r => r!["outcome"]!.GetValue<string>().Contains("anti-forgery", StringComparison.Ordinal) && r["user"]!.GetValue<string>() == "admin");
        Assert.Contains(refused, r => r!["outcome"]!.GetValue<string>().Contains("evil.example", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Failed_logins_are_throttled_per_address_and_user_with_429_and_Retry_After()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var wrong = host.Client("admin", "wrong");
        for (var i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("api/workers")).StatusCode);
        for (var i = 0; i < 10; i++)
        {
            using var throttled = await wrong.GetAsync("api/workers");
            Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
            var retryAfter = throttled.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        }
        // Locked out: the right password waits too; another user from the same address does not.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await host.Client("admin", "right").GetAsync("api/workers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client("viewer", "look").GetAsync("api/workers")).StatusCode);
        Assert.Contains(host.Log.Records, r => r.EventId == 8002);
    }

    [Fact]
    public async Task Read_only_users_see_everything_and_get_403_on_every_action()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var viewer = host.Client("viewer", "look");
        foreach (var path in Reads.Where(p => !p.StartsWith("no/", StringComparison.Ordinal) && !p.Contains("a@x", StringComparison.Ordinal) && !p.Contains("some-id", StringComparison.Ordinal)))
        {
            // Headers only: the live stream never ends.
            using var response = await viewer.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(response.StatusCode == HttpStatusCode.OK, path);
        }
        await DashboardHost.UseAntiforgeryAsync(viewer);
        foreach (var path in Actions)
        {
            using var post = await viewer.PostAsJsonAsync(path, new { all = true });
            Assert.True(post.StatusCode == HttpStatusCode.Forbidden, $"POST {path}: {post.StatusCode}");
        }
        Assert.DoesNotContain(host.Log.Records, r => r.EventId == 8000);
        // Each refusal is logged (8003) and audited: who tried what.
        Assert.Equal(Actions.Length, host.Log.Records.Count(r => r.EventId == 8003));
        var audit = JsonNode.Parse(await viewer.GetStringAsync("api/audit"))!["records"]!.AsArray();
        Assert.Equal(Actions.Length, audit.Count);
        Assert.All(audit, r =>
        {
            Assert.Equal("viewer", r!["user"]!.GetValue<string>());
            Assert.StartsWith("refused: this user may only look", r["outcome"]!.GetValue<string>(), StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Every_response_carries_a_strict_CSP_and_the_usual_headers()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, Users);
        using var admin = host.Client("admin", "right");
        using var anonymous = host.Client();
        foreach (var response in new[]
        {
            await anonymous.GetAsync("api/workers"), await admin.GetAsync("api/workers"), await admin.GetAsync("no/such/page"),
            await admin.GetAsync("api/workers/shutdown"), await admin.GetAsync(""),
        })
        {
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        }
    }

    [Fact]
    public async Task A_hashed_password_from_configuration_signs_in()
    {
        await using var app = TestApps.Create();
        var hash = FennelDashboardPasswords.Hash("s3cret");
        Assert.DoesNotContain("s3cret", hash, StringComparison.Ordinal);
        await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(new FennelDashboardUser { Name = "ops", PasswordHash = hash }));
        Assert.Equal(HttpStatusCode.OK, (await host.Client("ops", "s3cret").GetAsync("api/workers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client("ops", "s3cret").GetAsync("api/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client("ops", "s3cret!").GetAsync("api/workers")).StatusCode);
    }

    [Fact]
    public async Task Without_users_loopback_clients_are_let_in()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("api/workers")).StatusCode);
    }

    [Fact]
    public async Task Without_users_a_remote_client_is_refused_even_with_a_spoofed_X_Forwarded_For()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(address is not null, "The test needs a non-loopback IPv4 address to connect from.");
        await using var app = TestApps.Create();
        // Even a host that trusts X-Forwarded-For from anyone (its forwarded-headers middleware rewrites the client address).
        await using var host = await DashboardHost.StartAsync(app, listen: address, middleware: web =>
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            web.UseForwardedHeaders(forwarded);
        });
        using var client = host.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("api/workers")).StatusCode);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "127.0.0.1");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("api/workers")).StatusCode);
    }
}
