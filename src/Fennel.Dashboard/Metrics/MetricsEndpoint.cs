using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Fennel.Dashboard.Api;
using Fennel.Dashboard.Hosting;
using Fennel.Dashboard.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Metrics;

/// <summary>
/// <c>GET {prefix}/metrics</c>: Prometheus' text format. Task counts and runtimes from <see cref="TaskMetrics"/>, workers
/// from the cluster state, queue depths asked from the broker for the queues the workers consume (within
/// <see cref="FennelDashboardOptions.ControlTimeout"/> for the question and again for the depths). Access by
/// <see cref="FennelDashboardMetricsOptions.Access"/>: the dashboard's users (the group's policy), a bearer token checked
/// here, or anyone.
/// </summary>
internal static class MetricsEndpoint
{
    public static void Map(RouteGroupBuilder group, DashboardServices dashboard, TaskMetrics tasks, string prefix, ILogger logger)
    {
        var endpoint = group.MapGet("/metrics", (HttpContext context, CancellationToken cancellationToken) => WriteAsync(context, dashboard, tasks, logger, cancellationToken));
        switch (dashboard.Options.Metrics.Access)
        {
            case FennelMetricsAccess.BearerToken:
                // The group's policy wants a dashboard user; the token stands in for one, checked in the handler.
                endpoint.AllowAnonymous();
                break;
            case FennelMetricsAccess.Public:
                endpoint.AllowAnonymous();
                MetricsLog.PublicMetrics(logger, prefix.TrimEnd('/') + "/metrics");
                break;
        }
    }

    private static async Task<IResult> WriteAsync(HttpContext context, DashboardServices dashboard, TaskMetrics tasks, ILogger logger, CancellationToken cancellationToken)
    {
        var options = dashboard.Options.Metrics;
        if (options.Access == FennelMetricsAccess.BearerToken && !HasToken(context.Request, options.BearerToken!))
        {
            MetricsLog.MetricsRefused(logger, ConnectionAddress.Of(context)?.ToString(), "no or a wrong bearer token");
            context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{dashboard.Options.Realm}\"";
            return HttpResults.Json(new ErrorView("The metrics need 'Authorization: Bearer <token>' with the configured token."), ApiJson.Options,
                statusCode: StatusCodes.Status401Unauthorized);
        }

        var text = new PrometheusText();
        WriteTasks(text, tasks.Read());
        await WriteQueuesAsync(text, dashboard, logger, cancellationToken).ConfigureAwait(false);
        var workers = dashboard.State.Snapshot().Workers;
        text.Family("fennel_workers_online", "gauge", "Workers online now (a heartbeat within twice its interval), by the dashboard's events.");
        text.Sample("fennel_workers_online", workers.Count(w => w.IsOnline));
        text.Family("fennel_worker_up", "gauge", "1 for each worker online, 0 for each known but offline.");
        foreach (var worker in workers.OrderBy(w => w.Hostname, StringComparer.Ordinal)) text.Sample("fennel_worker_up", worker.IsOnline ? 1 : 0, ("worker", worker.Hostname));
        return HttpResults.Text(text.ToString(), PrometheusText.ContentType, Encoding.UTF8);
    }

    private static void WriteTasks(PrometheusText text, IReadOnlyList<(string Name, long[] Counts, long[] Buckets, double RuntimeSum, long RuntimeCount)> series)
    {
        text.Family("fennel_tasks_total", "counter", "Task events seen since the dashboard started, by task name and the state they led to.");
        foreach (var (name, counts, _, _, _) in series)
        {
            for (var i = 0; i < counts.Length; i++)
            {
                if (counts[i] > 0) text.Sample("fennel_tasks_total", counts[i], ("name", name), ("state", TaskMetrics.States[i].State));
            }
        }
        text.Family("fennel_task_runtime_seconds", "histogram", "Task runtimes in seconds (task-succeeded, and task-failed where it carries one), by task name.");
        foreach (var (name, _, buckets, sum, count) in series)
        {
            if (count == 0) continue;
            long cumulative = 0;
            for (var i = 0; i < TaskMetrics.RuntimeBuckets.Count; i++)
            {
                cumulative += buckets[i];
                text.Sample("fennel_task_runtime_seconds_bucket", cumulative, ("name", name), ("le", PrometheusText.Number(TaskMetrics.RuntimeBuckets[i])));
            }
            text.Sample("fennel_task_runtime_seconds_bucket", count, ("name", name), ("le", "+Inf"));
            text.Sample("fennel_task_runtime_seconds_sum", sum, ("name", name));
            text.Sample("fennel_task_runtime_seconds_count", count, ("name", name));
        }
    }

    private static async Task WriteQueuesAsync(PrometheusText text, DashboardServices dashboard, ILogger logger, CancellationToken cancellationToken)
    {
        text.Family("fennel_queue_depth", "gauge", "Messages ready in each queue the dashboard knows (consumed, the default queue, sent to), as the broker tells.");
        var consumers = await QueueConsumers.AskAsync(dashboard, cancellationToken).ConfigureAwait(false);
        var queues = await QueueConsumers.KnownAsync(dashboard, consumers.Keys, cancellationToken).ConfigureAwait(false);
        // All the depths within one more ControlTimeout: a broker that hangs must not hold the scrape past its own timeout.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(dashboard.Options.ControlTimeout);
        foreach (var queue in queues)
        {
            try
            {
                var depth = await dashboard.App.Transport.GetQueueLengthAsync(queue, deadline.Token).ConfigureAwait(false);
                text.Sample("fennel_queue_depth", depth, ("queue", queue));
            }
            catch (FennelException ex)
            {
                MetricsLog.QueueDepthSkipped(logger, queue, ex.Message);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                MetricsLog.QueueDepthSkipped(logger, queue, $"no answer from the broker within {dashboard.Options.ControlTimeout.TotalSeconds:0.###} s");
            }
        }
    }

    /// <summary>Whether the request carries <c>Bearer &lt;token&gt;</c>; compared as digests in fixed time, so timing tells nothing of the token.</summary>
    private static bool HasToken(HttpRequest request, string token)
    {
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header.Parameter)), SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }
}
