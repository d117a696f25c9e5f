using System.Net;
using System.Text.Json.Nodes;

namespace Fennel.Dashboard.Tests.Api;

/// <summary><c>GET /api/workers/{node}/tasks</c>: what one worker holds, asked live.</summary>
public class WorkerInspectionTests
{
    [Fact]
    public async Task A_worker_answers_its_active_reserved_and_registered_tasks_without_raw_arguments_for_the_reserved()
    {
        await using var app = TestApps.Create();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var wait = app.Task<int, int>("tasks.wait", async (int n) =>
        {
            await gate.Task;
            return n;
        });
        var worker = app.CreateWorker(o => o.NodeName = "a@test");
        await using (worker)
        {
            await worker.StartAsync();
            await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(FennelDashboardUser.Parse("admin:right")));
            using var client = host.Client("admin", "right");
            var sent = new List<string>();
            for (var i = 0; i < 3; i++) sent.Add((await wait.DelayAsync(40 + i)).Id);

            JsonNode answer = null!;
            await Eventually.HoldsAsync(async () =>
            {
                answer = JsonNode.Parse(await client.GetStringAsync("api/workers/a@test/tasks"))!;
                return answer["active"]!.AsArray().Count == 2 && answer["reserved"]!.AsArray().Count == 1;
            }, "two active tasks and one reserved (concurrency 2)");

            Assert.True(answer["answered"]!.GetValue<bool>());
            Assert.Contains(answer["registered"]!.AsArray(), n => n!.GetValue<string>().StartsWith("tasks.wait", StringComparison.Ordinal));
            var active = answer["active"]!.AsArray();
            Assert.All(active, t => Assert.Contains(t!["id"]!.GetValue<string>(), sent));
            Assert.All(active, t => Assert.StartsWith("(4", t!["args"]!.GetValue<string>(), StringComparison.Ordinal));
            var reserved = Assert.Single(answer["reserved"]!.AsArray())!;
            Assert.Contains(reserved["id"]!.GetValue<string>(), sent);
            Assert.Null(reserved["args"]);
            Assert.Null(reserved["kwargs"]);
            Assert.Empty(answer["scheduled"]!.AsArray());

            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("api/workers/nobody@test/tasks")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client().GetAsync("api/workers/a@test/tasks")).StatusCode);
            gate.SetResult();
        }
    }
}
