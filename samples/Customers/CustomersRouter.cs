using Fennel.Routing;

namespace Customers;

/// <summary>The seed's router: every <c>customers.*</c> task goes to the <c>customers</c> queue, the rest stays on <c>celery</c>.</summary>
public sealed class CustomersRouter : ITaskRouter
{
    public string? RouteForTask(string taskName) =>
        taskName.StartsWith("customers.", StringComparison.Ordinal) ? "customers" : null;
}
