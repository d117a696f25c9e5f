using System.Net;
using System.Net.Http.Json;

namespace Fennel.Dashboard.Tests.Api;

/// <summary>The dead-letter, queue and re-send endpoints keep the dashboard's rules: 401, 405, 403 read-only, 403 without the token.</summary>
public class ApiActionSecurityTests
{
    private static readonly string[] Reads = ["api/dead-letters", "api/dead-letters/some-id", "api/queues"];

    private static readonly string[] Actions =
        ["api/dead-letters/requeue", "api/dead-letters/purge", "api/queues/celery/purge", "api/tasks/some-id/resend"];

    [Fact]
    public async Task The_new_routes_without_credentials_are_401()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            ApiDeadLetterTests.Users(o);
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
            }
            foreach (var path in Actions)
            {
                using var post = await client.PostAsJsonAsync(path, new { all = true });
                Assert.True(post.StatusCode == HttpStatusCode.Unauthorized, $"POST {path}: {post.StatusCode}");
            }
        }
    }

    [Fact]
    public async Task The_new_actions_answer_405_to_GET_and_DELETE()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, ApiDeadLetterTests.Users);
        using var admin = host.Client("admin", "right");
        foreach (var path in Actions)
        {
            using var get = await admin.GetAsync(path);
            Assert.True(get.StatusCode == HttpStatusCode.MethodNotAllowed, $"GET {path}: {get.StatusCode}");
            Assert.Contains("POST", get.Content.Headers.Allow);
            using var delete = await admin.DeleteAsync(path);
            Assert.True(delete.StatusCode == HttpStatusCode.MethodNotAllowed, $"DELETE {path}: {delete.StatusCode}");
        }
    }

    [Fact]
    public async Task The_new_actions_are_403_for_read_only_users_and_without_the_antiforgery_token()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, ApiDeadLetterTests.Users);
        using var viewer = host.Client("viewer", "look");
        using var admin = host.Client("admin", "right");
        foreach (var path in Reads.Take(1)) Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync(path)).StatusCode);
        await DashboardHost.UseAntiforgeryAsync(viewer);
        foreach (var path in Actions)
        {
            using var readOnly = await viewer.PostAsJsonAsync(path, new { all = true });
            Assert.True(readOnly.StatusCode == HttpStatusCode.Forbidden, $"viewer POST {path}: {readOnly.StatusCode}");
            using var noToken = await admin.PostAsJsonAsync(path, new { all = true });
            Assert.True(noToken.StatusCode == HttpStatusCode.Forbidden, $"POST {path} without a token: {noToken.StatusCode}");
        }
        // Both kinds of refusal are logged (8003) and audited; nothing was done (no 8000).
        Assert.Equal(2 * Actions.Length, host.Log.Records.Count(r => r.EventId == 8003));
        Assert.DoesNotContain(host.Log.Records, r => r.EventId == 8000);
    }
}
