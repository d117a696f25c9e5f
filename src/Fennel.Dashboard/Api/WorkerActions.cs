using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Dashboard.Hosting;
using Fennel.Dashboard.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>The body of a worker action: which nodes (<c>nodes</c>, or <c>all</c>) and the command's arguments.</summary>
internal sealed record WorkerActionRequest(IReadOnlyList<string>? Nodes, bool All, JsonObject? Arguments);

/// <summary>The body of a revoke.</summary>
internal sealed record RevokeRequest(bool Terminate);

/// <summary>One node's outcome: <c>ok</c>, <c>error</c>, <c>no_reply</c> or <c>sent</c> (shutdown wants no reply).</summary>
internal sealed record NodeResult(string Node, string Status, JsonNode? Reply);

/// <summary>
/// The state-changing endpoints: POST only (other methods get 405), administrators only (read-only users get 403), an
/// anti-forgery token in the header and no foreign <c>Origin</c> (else 403), each audited.
/// </summary>
internal static class WorkerActions
{
    /// <summary>The commands, with the arguments each requires.</summary>
    private static readonly Dictionary<string, string[]> Actions = new(StringComparer.Ordinal)
    {
        ["shutdown"] = [],
        ["pool_restart"] = [],
        ["pool_grow"] = [],
        ["pool_shrink"] = [],
        ["add_consumer"] = ["queue"],
        ["cancel_consumer"] = ["queue"],
        ["rate_limit"] = ["task_name", "rate_limit"],
    };

    private static readonly string[] OtherMethods = [HttpMethods.Get, HttpMethods.Head, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch];

    public static void Map(RouteGroupBuilder api)
    {
        foreach (var action in Actions.Keys)
        {
            MapPost(api, "/workers/" + action, (HttpContext context, DashboardServices dashboard, ILogger<DashboardServices> logger, CancellationToken ct) =>
                RunAsync(action, context, dashboard, logger, ct));
        }
        MapPost(api, "/tasks/{id}/revoke", RevokeAsync);
    }

    /// <summary>
    /// Maps a state-changing endpoint: POST only (405 with <c>Allow: POST</c> otherwise), administrators only, anti-forgery
    /// checked. The handler audits what it did (<see cref="Audit"/>). Returns the POST endpoint, for more filters.
    /// </summary>
    internal static RouteHandlerBuilder MapPost(RouteGroupBuilder api, string pattern, Delegate handler)
    {
        var post = api.MapPost(pattern, handler).RequireAuthorization(DashboardPolicies.Control).AddEndpointFilter(RequireAntiforgeryAsync);
        api.MapMethods(pattern, OtherMethods, (HttpContext context) =>
        {
            context.Response.Headers.Allow = HttpMethods.Post;
            return HttpResults.Json(new ErrorView("This action changes state: POST only."), ApiJson.Options, statusCode: StatusCodes.Status405MethodNotAllowed);
        });
        return post;
    }

    /// <summary>Cross-site request forgery: a same-origin request carrying the anti-forgery token of <c>GET /api/csrf</c>.</summary>
    private static async ValueTask<object?> RequireAntiforgeryAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var request = context.Request;
        string? refusal = null;
        if (request.Headers.Origin is [{ } origin, ..] &&
            !string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase))
        {
            refusal = $"cross-origin request from {origin}";
        }
        else
        {
            var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
            try
            {
                await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
            }
            catch (AntiforgeryValidationException)
            {
                refusal = "missing or invalid anti-forgery token";
            }
        }
        if (refusal is null) return await next(invocation).ConfigureAwait(false);
        var logger = context.RequestServices.GetRequiredService<ILogger<DashboardServices>>();
        Log.ControlRefused(logger, request.Path, context.User.Identity?.Name ?? "?", refusal);
        return HttpResults.Json(new ErrorView($"Refused: {refusal}. Send the token from GET api/csrf in its header, from the dashboard's own origin."),
            ApiJson.Options, statusCode: StatusCodes.Status403Forbidden);
    }

    private static async Task<IResult> RunAsync(string action, HttpContext context, DashboardServices dashboard, ILogger logger,
        CancellationToken cancellationToken)
    {
        WorkerActionRequest? body;
        try
        {
            body = await context.Request.ReadFromJsonAsync<WorkerActionRequest>(ApiJson.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return DashboardApi.BadRequest("The body is not the JSON expected: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return DashboardApi.BadRequest(ex.Message);
        }
        if (body is null) return DashboardApi.BadRequest("A JSON body is required: {\"nodes\": [...]} or {\"all\": true}, with \"arguments\".");
        var nodes = body.Nodes?.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (body.All == nodes.Count > 0) return DashboardApi.BadRequest("Name the nodes (\"nodes\": [...]) or ask for all (\"all\": true), not both or neither.");
        var arguments = body.Arguments?.DeepClone().AsObject() ?? [];
        if (Actions[action].FirstOrDefault(a => arguments[a] is null) is { } missing) return DashboardApi.BadRequest($"{action} needs the argument \"{missing}\".");
        if (action is "pool_grow" or "pool_shrink") arguments["n"] ??= 1;

        var control = dashboard.App.Client.Control;
        List<NodeResult> results;
        if (action == "shutdown")
        {
            // Celery's shutdown wants no reply: the worker stops instead. Whom it went to is the answer.
            await control.SendAsync(action, arguments, body.All ? null : nodes, cancellationToken).ConfigureAwait(false);
            var whom = body.All ? dashboard.State.Snapshot().Workers.Where(w => w.IsOnline).Select(w => w.Hostname).ToList() : nodes;
            results = [.. whom.Select(n => new NodeResult(n, "sent", null))];
        }
        else
        {
            var replies = await control.RequestAsync(action, arguments,
                new ControlRequestOptions { Destination = body.All ? null : nodes, Timeout = dashboard.Options.ControlTimeout },
                cancellationToken).ConfigureAwait(false);
            results = [.. replies.Select(r => new NodeResult(r.Node, r.Payload?["error"] is null ? "ok" : "error", r.Payload?.DeepClone()))];
            results.AddRange(nodes.Where(n => results.All(r => r.Node != n)).Select(n => new NodeResult(n, "no_reply", null)));
        }
        Audit(context, dashboard, logger, action, body.All ? [] : nodes, arguments.ToJsonString(),
            results.Count == 0 ? "no node replied" : string.Join("; ", results.Select(r => $"{r.Node}: {r.Status}")));
        return DashboardApi.Json(new { action, results });
    }

    private static async Task<IResult> RevokeAsync(string id, HttpContext context, DashboardServices dashboard, ILogger<DashboardServices> logger,
        CancellationToken cancellationToken)
    {
        var terminate = false;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            try
            {
                terminate = (await context.Request.ReadFromJsonAsync<RevokeRequest>(ApiJson.Options, cancellationToken).ConfigureAwait(false))?.Terminate ?? false;
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                return DashboardApi.BadRequest("The body is not the JSON expected ({\"terminate\": true}): " + ex.Message);
            }
        }
        await dashboard.App.Client.RevokeAsync(id, terminate, cancellationToken).ConfigureAwait(false);
        Audit(context, dashboard, logger, terminate ? "revoke (terminate)" : "revoke", [id], $"{{\"terminate\":{(terminate ? "true" : "false")}}}", "sent");
        return DashboardApi.Json(new { task_id = id, terminate, status = "sent" });
    }

    /// <summary>Writes an action to the audit trail and the log: who (the signed-in user and address), what, to whom, with what outcome.</summary>
    internal static void Audit(HttpContext context, DashboardServices dashboard, ILogger logger, string action, IReadOnlyList<string> targets,
        string arguments, string outcome)
    {
        var user = context.User.Identity?.Name ?? "?";
        var record = new AuditRecord(dashboard.Time.GetUtcNow(), user, ConnectionAddress.Of(context)?.ToString(), action, targets, arguments, outcome);
        dashboard.Audit.Add(record);
        Log.ControlAction(logger, action, user, record.Address, targets.Count == 0 ? "all nodes" : string.Join(", ", targets), arguments, outcome);
    }
}
