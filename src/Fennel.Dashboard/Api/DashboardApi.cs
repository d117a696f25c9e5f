using Fennel.Control;
using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>The JSON API's reading side: workers, tasks, queues, the audit log and the anti-forgery token.</summary>
internal static class DashboardApi
{
    public static void Map(RouteGroupBuilder group)
    {
        var api = group.MapGroup("/api");
        api.MapGet("/csrf", GetToken);
        api.MapGet("/me", SessionApi.GetMeAsync);
        api.MapGet("/workers", GetWorkersAsync);
        api.MapGet("/workers/{node}", GetWorkerAsync);
        WorkerInspection.Map(api);
        api.MapGet("/overview", GetOverviewAsync);
        api.MapGet("/tasks", GetTasksAsync);
        api.MapGet("/tasks/{id}", GetTaskAsync);
        api.MapGet("/queues", GetQueuesAsync);
        api.MapGet("/audit", GetAudit);
        WorkerActions.Map(api);
        DeadLetterApi.Map(api);
        QueueActions.Map(api);
        TaskActions.Map(api);
    }

    private static IResult GetToken(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Json(new { header_name = tokens.HeaderName, token = tokens.RequestToken });
    }

    private static async Task<IResult> GetWorkersAsync(DashboardServices dashboard, CancellationToken cancellationToken) =>
        Json(new { workers = await WorkerList.ListAsync(dashboard, cancellationToken).ConfigureAwait(false) });

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

    private static async Task<IResult> GetTasksAsync(HttpContext context, DashboardServices dashboard, CancellationToken cancellationToken)
    {
        if (!TaskQueryParser.TryParse(context.Request.Query, out var query, out var error)) return BadRequest(error);
        var history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        var page = await history.QueryTasksAsync(query, cancellationToken).ConfigureAwait(false);
        return Json(new TaskPageView(page.Total, query.Offset, query.Limit, [.. page.Tasks.Select(TaskView.From)]));
    }

    private static async Task<IResult> GetTaskAsync(string id, DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await history.GetTaskAsync(id, cancellationToken).ConfigureAwait(false) is { } detail
            ? Json(TaskDetailView.From(detail))
            : HttpResults.Json(new ErrorView($"No task '{id}' is in the history (never seen, or trimmed)."), ApiJson.Options, statusCode: 404);
    }

    private static async Task<IResult> GetOverviewAsync(HttpContext context, DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        if (query.Keys.FirstOrDefault(k => k != "minutes") is { } unknown) return BadRequest($"Unknown parameter '{unknown}'; the only parameter is minutes.");
        var minutes = OverviewBuilder.DefaultMinutes;
        if (query.TryGetValue("minutes", out var text) && (text.Count != 1
            || !int.TryParse(text[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out minutes)
            || minutes is < 1 or > OverviewBuilder.MaxMinutes))
        {
            return BadRequest($"'minutes' must be given once, as a whole number from 1 to {OverviewBuilder.MaxMinutes}.");
        }

        return Json(await OverviewBuilder.BuildAsync(dashboard, minutes, workers: null, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The window a queue's rate (<see cref="QueueView.PerMinute"/>) is averaged over.</summary>
    private static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(5);

    private static async Task<IResult> GetQueuesAsync(DashboardServices dashboard, ILogger<DashboardServices> logger, CancellationToken cancellationToken)
    {
        var consumers = await QueueConsumers.AskAsync(dashboard, cancellationToken).ConfigureAwait(false);
        // Also the default queue and the queues tasks were sent to (history) or dead-lettered from, consumed or not.
        var names = await QueueConsumers.KnownAsync(dashboard, consumers.Keys, cancellationToken).ConfigureAwait(false);
        var history = await dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        var recent = await history.CountSeenByQueueAsync(RateWindow, cancellationToken).ConfigureAwait(false);
        IReadOnlyDictionary<string, long>? deadLetters = null;
        try
        {
            deadLetters = await DeadLetterApi.CountByQueueAsync(dashboard.App, cancellationToken).ConfigureAwait(false);
        }
        catch (FennelException ex)
        {
            Log.DeadLetterCountFailed(logger, ex.Message);
        }
        if (deadLetters is not null) names.UnionWith(deadLetters.Keys);

        var views = new List<QueueView>();
        foreach (var name in names)
        {
            IReadOnlyList<string> nodes = consumers.TryGetValue(name, out var set) ? [.. set] : [];
            long? dead = deadLetters is null ? null : deadLetters.GetValueOrDefault(name);
            try
            {
                var depth = await dashboard.App.Transport.GetQueueLengthAsync(name, cancellationToken).ConfigureAwait(false);
                views.Add(new QueueView(name, depth, nodes, dead, null) { PerMinute = recent.GetValueOrDefault(name) / RateWindow.TotalMinutes });
            }
            catch (FennelException ex)
            {
                Log.QueueDepthFailed(logger, name, ex.Message);
                views.Add(new QueueView(name, null, nodes, dead, ex.Message) { PerMinute = recent.GetValueOrDefault(name) / RateWindow.TotalMinutes });
            }
        }
        return Json(new { queues = views });
    }

    private static IResult GetAudit(DashboardServices dashboard, int? limit) =>
        Json(new { records = dashboard.Audit.Latest(Math.Clamp(limit ?? 100, 1, 1000)) });

    internal static IResult Json(object value) => HttpResults.Json(value, ApiJson.Options);

    internal static IResult BadRequest(string error) => HttpResults.Json(new ErrorView(error), ApiJson.Options, statusCode: 400);
}
