using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>
/// <c>GET /api/workers/{node}/tasks</c>: what one worker holds, asked live in Celery's shapes — the tasks it runs
/// (<c>active</c>), has prefetched (<c>reserved</c>) and holds for an ETA (<c>scheduled</c>), and the task names it knows
/// (<c>registered</c>). The four are asked at once, each waiting at most <see cref="FennelDashboardOptions.ControlTimeout"/>.
/// Arguments are only shown as their reprs (<c>active</c> is asked with <c>safe</c>, so <c>[Sensitive]</c> ones stay
/// <c>'***'</c>); reserved and scheduled requests, which Celery gives with the raw arguments, are shown without them.
/// </summary>
internal static class WorkerInspection
{
    public static void Map(RouteGroupBuilder api) => api.MapGet("/workers/{node}/tasks", GetAsync);

    private static async Task<IResult> GetAsync(string node, DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var options = new ControlRequestOptions { Destination = [node], Timeout = dashboard.Options.ControlTimeout };
        var control = dashboard.App.Client.Control;
        Task<IReadOnlyList<ControlReply>>[] asked =
        [
            control.RequestAsync("active", new JsonObject { ["safe"] = true }, options, cancellationToken),
            control.RequestAsync("reserved", [], options, cancellationToken),
            control.RequestAsync("scheduled", [], options, cancellationToken),
            control.RequestAsync("registered", [], options, cancellationToken),
        ];
        var replies = (await Task.WhenAll(asked).ConfigureAwait(false)).Select(r => r.FirstOrDefault()).ToArray();
        if (replies.All(r => r is null) && dashboard.State.GetWorker(node) is null)
        {
            return HttpResults.Json(new ErrorView($"No worker named '{node}' is known or answered."), ApiJson.Options, statusCode: StatusCodes.Status404NotFound);
        }
        return DashboardApi.Json(new
        {
            node,
            answered = replies.Any(r => r is not null),
            active = replies[0]?.Payload?.DeepClone(),
            reserved = WithoutArguments(replies[1]?.Payload),
            scheduled = WithoutArguments(replies[2]?.Payload),
            registered = replies[3]?.Payload?.DeepClone(),
        });
    }

    /// <summary>The requests without their raw <c>args</c> and <c>kwargs</c> (also inside a scheduled entry's <c>request</c>).</summary>
    private static JsonNode? WithoutArguments(JsonNode? payload)
    {
        if (payload?.DeepClone() is not JsonArray requests) return payload?.DeepClone();
        foreach (var item in requests.OfType<JsonObject>())
        {
            foreach (var request in (JsonObject?[])[item, item["request"] as JsonObject])
            {
                request?.Remove("args");
                request?.Remove("kwargs");
            }
        }
        return requests;
    }
}
