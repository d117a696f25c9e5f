using System.Text.RegularExpressions;
using Fennel.Routing;

namespace Fennel.Tests.Routing;

public class RoutingTests
{
    private sealed class SeedRouter : ITaskRouter
    {
        public string? RouteForTask(string taskName) => taskName.StartsWith("customers.", StringComparison.Ordinal) ? "customers" : null;
    }

    [Theory]
    [InlineData("customers.send_welcome", "customers")]
    [InlineData("customers.deep.name", "customers")]
    [InlineData("core.add", "celery")]
    [InlineData("customersX", "celery")]
    public void Glob_routes_match_whole_names(string task, string queue)
    {
        var routes = new TaskRoutes("celery").Add("customers.*", "customers");
        Assert.Equal(queue, routes.Resolve(task));
    }

    [Fact]
    public void First_non_null_answer_wins_in_order_added()
    {
        var routes = new TaskRoutes("celery")
            .Add("core.report", "reports")
            .Add(new Regex("^core\\..*$"), "core")
            .Add(new SeedRouter())
            .Add("*", "everything");
        Assert.Equal("reports", routes.Resolve("core.report"));
        Assert.Equal("core", routes.Resolve("core.add"));
        Assert.Equal("customers", routes.Resolve("customers.x"));
        Assert.Equal("everything", routes.Resolve("other"));
    }

    [Fact]
    public void Unclaimed_tasks_go_to_the_default_queue()
    {
        Assert.Equal("celery", new TaskRoutes("celery").Resolve("anything"));
        Assert.Equal("celery", new TaskRoutes("celery").Add(new SeedRouter()).Resolve("core.add"));
    }
}
