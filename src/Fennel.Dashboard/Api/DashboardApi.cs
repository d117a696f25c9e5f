using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>The JSON API's reading side: workers, tasks, queues, the audit log and the anti-forgery token.</summary>
internal static class DashboardApi
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    public static void Map(RouteGroupBuilder group)
    {
        var api = group.MapGroup("/api");
        api.MapGet("/csrf", GetToken);
        api.MapGet("/workers", GetWorkers);
        api.MapGet("/workers/{node}", GetWorkerAsync);
        api.MapGet("/tasks", GetTasks);
        api.MapGet("/tasks/{id}", GetTask);
        api.MapGet("/queues", GetQueuesAsync);
        api.MapGet("/audit", GetAudit);
        WorkerActions.Map(api);
    }

    private static IResult GetToken(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Json(new { header_name = tokens.HeaderName, token = tokens.RequestToken });
    }

    private static IResult GetWorkers(DashboardServices dashboard) =>
        Json(new { workers = dashboard.State.Snapshot().Workers.Select(WorkerView.From).ToList() });

    private static async Task<IResult> GetWorkerAsync(string node, DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var known = dashboard.State.GetWorker(node);
        var options = new ControlRequestOptions { Destination = [node], Timeout = dashboard.Options.ControlTimeout };
        var control = dashboard.App.Client.Control;
        var stats = control.RequestAsync("stats", [], options, cancellationToken);
        var queues = control.RequestAsync("active_queues", [], options, cancellationToken);
        var statsReply = (await stats.ConfigureAwait(false)).FirstOrDefault();
        var queuesReply = (await queues.ConfigureAwait(false)).FirstOrDefault();
        if (known is null && statsReply is null && queuesReply is null) return HttpResults.Json(new ErrorView($"No worker named '{node}' is known or answered."), ApiJson.Options, statusCode: 404);
        return Json(new
        {
            worker = known is null ? null : WorkerView.From(known),
            answered = statsReply is not null || queuesReply is not null,
            stats = statsReply?.Payload?.DeepClone(),
            active_queues = queuesReply?.Payload?.DeepClone(),
        });
    }

    private static IResult GetTasks(DashboardServices dashboard, string? state, string? name, string? worker, int? offset, int? limit)
    {
        if (offset is < 0) return BadRequest("offset cannot be negative.");
        if (limit is < 1 or > MaxPageSize) return BadRequest($"limit must be between 1 and {MaxPageSize}.");
        IEnumerable<Fennel.Monitoring.TaskInfo> tasks = dashboard.State.Snapshot().Tasks;
        if (!string.IsNullOrEmpty(state)) tasks = tasks.Where(t => string.Equals(t.State, state, StringComparison.OrdinalIgnoreCase));
        if (!string.IsNullOrEmpty(name)) tasks = tasks.Where(t => t.Name?.Contains(name, StringComparison.OrdinalIgnoreCase) == true);
        if (!string.IsNullOrEmpty(worker)) tasks = tasks.Where(t => string.Equals(t.Worker, worker, StringComparison.Ordinal));
        var matching = tasks.ToList();
        var (from, size) = (offset ?? 0, limit ?? DefaultPageSize);
        return Json(new TaskPage(matching.Count, from, size, [.. matching.Skip(from).Take(size).Select(TaskView.From)]));
    }

    private static IResult GetTask(string id, DashboardServices dashboard) =>
        dashboard.State.GetTask(id) is { } task
            ? Json(TaskDetailView.From(task))
            : HttpResults.Json(new ErrorView($"No task '{id}' is known (never seen, or evicted)."), ApiJson.Options, statusCode: 404);

    private static async Task<IResult> GetQueuesAsync(DashboardServices dashboard, ILogger<DashboardServices> logger, CancellationToken cancellationToken)
    {
        var replies = await dashboard.App.Client.Control.RequestAsync("active_queues", [],
            new ControlRequestOptions { Timeout = dashboard.Options.ControlTimeout }, cancellationToken).ConfigureAwait(false);
        var consumers = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var reply in replies)
        {
            if (reply.Payload is not JsonArray queues) continue;
            foreach (var queue in queues)
            {
                if (queue?["name"] is JsonValue value && value.TryGetValue<string>(out var name))
                {
                    if (!consumers.TryGetValue(name, out var nodes)) consumers[name] = nodes = new SortedSet<string>(StringComparer.Ordinal);
                    nodes.Add(reply.Node);
                }
            }
        }
        var views = new List<QueueView>();
        foreach (var (name, nodes) in consumers)
        {
            try
            {
                var depth = await dashboard.App.Transport.GetQueueLengthAsync(name, cancellationToken).ConfigureAwait(false);
                views.Add(new QueueView(name, depth, [.. nodes], null));
            }
            catch (FennelException ex)
            {
                Log.QueueDepthFailed(logger, name, ex.Message);
                views.Add(new QueueView(name, null, [.. nodes], ex.Message));
            }
        }
        return Json(new { queues = views });
    }

    private static IResult GetAudit(DashboardServices dashboard, int? limit) =>
        Json(new { records = dashboard.Audit.Latest(Math.Clamp(limit ?? 100, 1, 1000)) });

    internal static IResult Json(object value) => HttpResults.Json(value, ApiJson.Options);

    internal static IResult BadRequest(string error) => HttpResults.Json(new ErrorView(error), ApiJson.Options, statusCode: 400);
}
