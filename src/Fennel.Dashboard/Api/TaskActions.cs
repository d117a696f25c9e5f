using Fennel.Dashboard.Hosting;
using Fennel.Python;
using Fennel.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>
/// Re-sending a task from the history as a new one: same name, same queue, the arguments rebuilt from the reprs the events
/// carried (<see cref="PythonLiteral"/>). Revoke and terminate are in <see cref="WorkerActions"/>.
/// </summary>
internal static class TaskActions
{
    public static void Map(RouteGroupBuilder api) =>
        WorkerActions.MapPost(api, "/tasks/{id}/resend", ResendAsync).AddEndpointFilter(BrokerFailure.FilterAsync);

    private static async Task<IResult> ResendAsync(string id, HttpContext context, DashboardServices dashboard, ILogger<DashboardServices> logger,
        CancellationToken cancellationToken)
    {
        var history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (await history.GetTaskAsync(id, cancellationToken).ConfigureAwait(false) is not { } detail)
        {
            return HttpResults.Json(new ErrorView($"No task '{id}' is in the history (never seen, or trimmed)."), ApiJson.Options, statusCode: StatusCodes.Status404NotFound);
        }
        var task = detail.Task;
        if (task.Name is null) return CannotRebuild(id, "the history does not know its name (no task-sent or task-received event was seen)");
        if (task.Args is null || task.Kwargs is null) return CannotRebuild(id, "the history holds no arguments for it (no task-sent or task-received event was seen)");
        if (!PythonLiteral.TryParseArgs(task.Args, out var args, out var error)) return CannotRebuild(id, "its positional arguments " + task.Args + ": " + error);
        if (!PythonLiteral.TryParseKwargs(task.Kwargs, out var kwargs, out error)) return CannotRebuild(id, "its keyword arguments " + task.Kwargs + ": " + error);

        var queue = task.Queue ?? task.RoutingKey ?? dashboard.App.Routes.Resolve(task.Name);
        var sent = await dashboard.App.Client.SendTaskAsync(task.Name, args, kwargs, new CallOptions { Queue = queue }, cancellationToken).ConfigureAwait(false);
        WorkerActions.Audit(context, dashboard, logger, "resend", [id], $"{{\"queue\":{System.Text.Json.JsonSerializer.Serialize(queue)}}}", $"sent as {sent.Id}");
        return DashboardApi.Json(new { id = sent.Id, name = task.Name, queue });
    }

    private static IResult CannotRebuild(string id, string why) =>
        HttpResults.Json(new ErrorView($"Task '{id}' cannot be re-sent: {why}. Send it again from code with its real arguments."),
            ApiJson.Options, statusCode: StatusCodes.Status409Conflict);
}
