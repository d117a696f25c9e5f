using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>Actions on a queue: purge its waiting messages.</summary>
internal static class QueueActions
{
    public static void Map(RouteGroupBuilder api) => WorkerActions.MapPost(api, "/queues/{name}/purge", PurgeAsync);

    private static async Task<IResult> PurgeAsync(string name, HttpContext context, DashboardServices dashboard, ILogger<DashboardServices> logger,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name)) return DashboardApi.BadRequest("Name the queue to purge.");
        long purged;
        try
        {
            purged = await dashboard.App.Transport.PurgeAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (FennelException ex)
        {
            Log.QueuePurgeFailed(logger, name, ex.Message);
            WorkerActions.Audit(context, dashboard, logger, "purge queue", [name], "{}", "failed: " + ex.Message);
            return HttpResults.Json(new ErrorView($"The broker could not purge queue '{name}': {ex.Message}"), ApiJson.Options,
                statusCode: StatusCodes.Status502BadGateway);
        }
        WorkerActions.Audit(context, dashboard, logger, "purge queue", [name], "{}", $"{purged} purged");
        return DashboardApi.Json(new { queue = name, purged });
    }
}
