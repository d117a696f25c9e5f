using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Dashboard.Tests.Hosting;

/// <summary>The embedded web pages over HTTP: behind the sign-in like the API, with the strict headers, under any prefix.</summary>
public class PagesTests
{
    private static readonly string[] Files =
    [
        "", "index.html", "app.js", "app.css", "api.js", "dom.js", "live.js", "confirm.js", "pages/overview.js", "pages/workers.js",
        "pages/worker.js", "pages/worker-actions.js", "pages/tasks.js", "pages/task.js", "pages/queues.js", "pages/dead-letters.js",
    ];

    [Fact]
    public async Task Every_page_file_needs_credentials_and_is_served_with_its_type_and_the_strict_headers()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(FennelDashboardUser.Parse("admin:right")));
        using var anonymous = host.Client();
        using var admin = host.Client("admin", "right");
        foreach (var file in Files)
        {
            using var refused = await anonymous.GetAsync(file);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"GET {file} without credentials: {refused.StatusCode}");
            using var served = await admin.GetAsync(file);
            Assert.True(served.StatusCode == HttpStatusCode.OK, $"GET {file}: {served.StatusCode}");
            var expected = file is "" or "index.html" ? "text/html" : file.EndsWith(".css", StringComparison.Ordinal) ? "text/css" : "text/javascript";
            Assert.Equal(expected, served.Content.Headers.ContentType!.MediaType);
            Assert.Contains("script-src 'self'", served.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Equal("no-store", served.Headers.CacheControl!.ToString());
        }
        var index = await admin.GetStringAsync("");
        Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", index, StringComparison.Ordinal);
        Assert.DoesNotContain("style=", index, StringComparison.Ordinal);
        // Unknown files and API paths stay JSON 404s.
        using var missing = await admin.GetAsync("nope.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/json", missing.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("api/nope")).StatusCode);
    }

    [Fact]
    public async Task The_prefix_without_its_slash_redirects_to_it_so_the_pages_relative_links_resolve()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(FennelDashboardUser.Parse("admin:right")));
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Address };
        client.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String("admin:right"u8.ToArray()));
        using var response = await client.GetAsync(DashboardHost.Prefix);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(DashboardHost.Prefix + "/", response.Headers.Location!.ToString());
    }

    [Fact]
    public async Task At_the_root_prefix_of_a_standalone_dashboard_the_pages_and_their_files_are_served_from_the_root()
    {
        await using var app = TestApps.Create();
        var folder = Path.Combine(Path.GetTempPath(), $"fennel-pages-{Guid.NewGuid():N}");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Services.AddFennelDashboard(app, o =>
        {
            o.Users.Add(FennelDashboardUser.Parse("admin:right"));
            o.History.Path = Path.Combine(folder, "history.db");
        });
        await using var web = builder.Build();
        web.MapFennelDashboard("/");
        await web.StartAsync();
        try
        {
            var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address + "/") };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("admin:right"u8.ToArray()));
            Assert.Contains("src=\"app.js\"", await client.GetStringAsync(""), StringComparison.Ordinal);
            Assert.Contains("import", await client.GetStringAsync("app.js"), StringComparison.Ordinal);
            Assert.Contains("\"user\":\"admin\"", await client.GetStringAsync("api/me"), StringComparison.Ordinal);
        }
        finally
        {
            await web.StopAsync();
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Me_says_who_is_signed_in_and_whether_they_may_act()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            o.Users.Add(FennelDashboardUser.Parse("admin:right"));
            o.Users.Add(FennelDashboardUser.Parse("viewer:look", readOnly: true));
        });
        Assert.Equal("{\"user\":\"admin\",\"can_act\":true}", await host.Client("admin", "right").GetStringAsync("api/me"));
        Assert.Equal("{\"user\":\"viewer\",\"can_act\":false}", await host.Client("viewer", "look").GetStringAsync("api/me"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("api/me")).StatusCode);
    }
}
