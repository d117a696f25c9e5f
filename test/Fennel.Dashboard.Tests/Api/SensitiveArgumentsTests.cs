using System.Text.Json.Nodes;
using Fennel.Tasks;

namespace Fennel.Dashboard.Tests.Api;

/// <summary>S07: arguments marked sensitive show as <c>'***'</c> in the dashboard's API and cannot be found by searching.</summary>
public sealed class SensitiveArgumentsTests : IClassFixture<TemporaryFolder>
{
    private readonly TemporaryFolder _folder;

    public SensitiveArgumentsTests(TemporaryFolder folder) => _folder = folder;

    [Fact]
    public async Task Sensitive_arguments_show_as_stars_in_the_task_list_and_detail_and_are_not_searchable()
    {
        var builder = FennelApp.CreateBuilder(["--loglevel", "warning"]);
        builder.Configure(o =>
        {
            o.BrokerUrl = "memory://" + Guid.NewGuid().ToString("N");
            o.Worker.Mingle = false;
            o.TaskSentEvents = true;
        });
        await using var app = builder.Build();
        var login = app.Task<string, string, int, string>("tasks.login", (string user, [Sensitive] string password, int pin) => user,
            new TaskOptions { SensitiveArguments = ["pin"] });
        await using var worker = app.CreateWorker(o =>
        {
            o.NodeName = "s@test";
            o.TaskEvents = true;
        });
        await worker.StartAsync();
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            o.Users.Add(FennelDashboardUser.Parse("admin:right"));
            o.History.Path = _folder.NewFilePath("history.db");
        });
        using var admin = host.Client("admin", "right");

        var sent = await login.DelayAsync("alice", "hunter2-secret", 8642);
        Assert.Equal("alice", await sent.GetAsync(TimeSpan.FromSeconds(20)));
        await Eventually.HoldsAsync(async () =>
            JsonNode.Parse(await admin.GetStringAsync("api/tasks?states=SUCCESS"))!["total"]!.GetValue<int>() == 1, "the task in the history");

        var listed = JsonNode.Parse(await admin.GetStringAsync("api/tasks"))!["tasks"]![0]!;
        Assert.Equal("('alice', '***', '***')", listed["args"]!.GetValue<string>());
        var detail = await admin.GetStringAsync("api/tasks/" + sent.Id);
        Assert.DoesNotContain("hunter2", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("8642", detail, StringComparison.Ordinal);
        Assert.Equal(0, JsonNode.Parse(await admin.GetStringAsync("api/tasks?search=hunter2"))!["total"]!.GetValue<int>());
        Assert.Equal(0, JsonNode.Parse(await admin.GetStringAsync("api/tasks?search=8642"))!["total"]!.GetValue<int>());
    }
}
