using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json;
using System.Text;
using Fennel.Dashboard.Hosting;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>The body of a requeue: the dead letters' ids, or <c>all</c>.</summary>
internal sealed record RequeueRequest(IReadOnlyList<string>? Ids, bool All);

/// <summary>A dead letter as the list shows it; what the message says of its task when it parses as one, nulls when not.</summary>
internal sealed record DeadLetterView(string Id, string Queue, string Reason, DateTimeOffset DeadLetteredAt, int DeliveryCount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? TaskId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Task,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Args,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Kwargs,
    int Size);

/// <summary>One dead letter in full: the list's fields, the message as text (or base64) and its headers.</summary>
internal sealed record DeadLetterDetailView(string Id, string Queue, string Reason, DateTimeOffset DeadLetteredAt, int DeliveryCount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? TaskId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Task,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Args,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Kwargs,
    int Size,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Body,
    string? BodyEncoding, string? BodyHidden,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonObject? Headers);

/// <summary>
/// The broker's dead letters (<see cref="IDeadLetterStore"/>): list, inspect, requeue and purge. Brokers without a store answer
/// <c>supported: false</c> to reads and 409 to actions.
/// </summary>
internal static class DeadLetterApi
{
    /// <summary>How many dead letters are scanned to find one by id (the store lists newest first).</summary>
    internal const int ScanBound = 10_000;

    /// <summary>How many of the newest dead letters <c>GET /api/queues</c> counts per queue (it is read often).</summary>
    internal const int CountBound = 1000;

    /// <summary>The most a requeue of all puts back in one request.</summary>
    internal const int RequeueAllBound = 10_000;

    private const int RequeuePage = 500;
    private const string SensitiveMask = "***";
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/dead-letters", ListAsync).AddEndpointFilter(BrokerFailure.FilterAsync);
        api.MapGet("/dead-letters/{id}", GetAsync).AddEndpointFilter(BrokerFailure.FilterAsync);
        WorkerActions.MapPost(api, "/dead-letters/requeue", RequeueAsync).AddEndpointFilter(BrokerFailure.FilterAsync);
        WorkerActions.MapPost(api, "/dead-letters/purge", PurgeAsync).AddEndpointFilter(BrokerFailure.FilterAsync);
    }

    /// <summary>The app's dead-letter store, or null when its broker keeps none.</summary>
    internal static IDeadLetterStore? StoreOf(FennelApp app) =>
        app.Transport as IDeadLetterStore;

    private static async Task<IResult> ListAsync(HttpContext context, DashboardServices dashboard, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        if (query.Keys.FirstOrDefault(k => k != "limit") is { } unknown) return DashboardApi.BadRequest($"Unknown parameter '{unknown}'; the only parameter is limit.");
        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var text) && (text.Count != 1
            || !int.TryParse(text[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit)
            || limit is < 1 or > MaxLimit))
        {
            return DashboardApi.BadRequest($"'limit' must be given once, as a whole number from 1 to {MaxLimit}.");
        }
        if (StoreOf(dashboard.App) is not { } store) return DashboardApi.Json(new { supported = false, dead_letters = Array.Empty<DeadLetterView>() });
        var letters = await store.ListDeadLettersAsync(limit, cancellationToken).ConfigureAwait(false);
        return DashboardApi.Json(new { supported = true, dead_letters = letters.Select(View).ToList() });
    }

    private static async Task<IResult> GetAsync(string id, DashboardServices dashboard, CancellationToken cancellationToken)
    {
        if (StoreOf(dashboard.App) is not { } store) return NotFound($"The broker keeps no dead letters, so there is no dead letter '{id}'.");
        var letters = await store.ListDeadLettersAsync(ScanBound, cancellationToken).ConfigureAwait(false);
        if (letters.FirstOrDefault(l => l.Id == id) is not { } letter)
        {
            return NotFound($"No dead letter '{id}' among the newest {ScanBound}: it was requeued or purged, or the id is wrong.");
        }
        var view = View(letter);
        string? body = null;
        string? encoding = null;
        string? hidden = null;
        if (view.Args?.Contains(SensitiveMask, StringComparison.Ordinal) == true || view.Kwargs?.Contains(SensitiveMask, StringComparison.Ordinal) == true)
        {
            // The body holds the arguments the reprs hide; the headers (argsrepr, kwargsrepr) show what may be shown.
            hidden = "The task has sensitive arguments ('***' in its argsrepr or kwargsrepr): its body is not shown.";
        }
        else
        {
            try
            {
                body = StrictUtf8.GetString(letter.Body.Span);
            }
            catch (DecoderFallbackException)
            {
                body = Convert.ToBase64String(letter.Body.Span);
                encoding = "base64";
            }
        }
        return DashboardApi.Json(new DeadLetterDetailView(view.Id, view.Queue, view.Reason, view.DeadLetteredAt, view.DeliveryCount, view.TaskId,
            view.Task, view.Args, view.Kwargs, view.Size, body, encoding, hidden, HeadersOf(letter.Body)));
    }

    private static async Task<IResult> RequeueAsync(HttpContext context, DashboardServices dashboard, ILogger<DashboardServices> logger,
        CancellationToken cancellationToken)
    {
        RequeueRequest? body;
        try
        {
            body = await context.Request.ReadFromJsonAsync<RequeueRequest>(ApiJson.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return DashboardApi.BadRequest("The body is not the JSON expected ({\"ids\": [...]} or {\"all\": true}): " + ex.Message);
        }
        var ids = body?.Ids?.Where(i => !string.IsNullOrWhiteSpace(i)).Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (body is null || body.All == ids.Count > 0) return DashboardApi.BadRequest("Name the dead letters (\"ids\": [...]) or ask for all (\"all\": true), not both or neither.");
        if (StoreOf(dashboard.App) is not { } store) return Unsupported();

        var requeued = 0;
        var missing = new List<string>();
        var bounded = false;
        if (body.All)
        {
            (requeued, bounded) = await RequeueAllAsync(store, cancellationToken).ConfigureAwait(false);
            if (bounded) Log.RequeueAllBounded(logger, requeued);
        }
        else
        {
            foreach (var id in ids)
            {
                if (await store.RequeueDeadLetterAsync(id, cancellationToken).ConfigureAwait(false)) requeued++;
                else missing.Add(id);
            }
        }
        var outcome = $"{requeued} requeued" + (missing.Count > 0 ? $", {missing.Count} missing" : "") + (bounded ? ", stopped at a bound" : "");
        WorkerActions.Audit(context, dashboard, logger, "requeue dead letters", body.All ? ["all dead letters"] : ids,
            body.All ? "{\"all\":true}" : "{}", outcome);
        return bounded
            ? DashboardApi.Json(new { requeued, missing, stopped_at_bound = true })
            : DashboardApi.Json(new { requeued, missing });
    }

    /// <summary>
    /// Requeues every dead letter there was when it began, newest first, page by page. Those dead-lettered after its first look
    /// (often the same messages, refused again by a worker) are left: that stops a loop, and the operator sees them come back.
    /// Stops at <see cref="RequeueAllBound"/>, or when the scan reaches <see cref="ScanBound"/> without finding older ones.
    /// </summary>
    private static async Task<(int Requeued, bool Bounded)> RequeueAllAsync(IDeadLetterStore store, CancellationToken cancellationToken)
    {
        var requeued = 0;
        var limit = RequeuePage;
        DateTimeOffset? cutoff = null;
        var attempted = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var page = await store.ListDeadLettersAsync(limit, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0) return (requeued, false);
            cutoff ??= page.Max(l => l.DeadLetteredAt);
            var older = page.Where(l => l.DeadLetteredAt <= cutoff && attempted.Add(l.Id)).ToList();
            if (older.Count == 0)
            {
                // Only newer ones (or ones tried already) in view: look further down, within the bound.
                if (page.Count < limit) return (requeued, false);
                if (limit >= ScanBound) return (requeued, true);
                limit = Math.Min(ScanBound, limit + RequeuePage);
                continue;
            }
            foreach (var letter in older)
            {
                if (await store.RequeueDeadLetterAsync(letter.Id, cancellationToken).ConfigureAwait(false)) requeued++;
                if (requeued >= RequeueAllBound) return (requeued, true);
            }
            limit = Math.Min(ScanBound, page.Count - older.Count + RequeuePage);
        }
    }

    private static async Task<IResult> PurgeAsync(HttpContext context, DashboardServices dashboard, ILogger<DashboardServices> logger,
        CancellationToken cancellationToken)
    {
        if (StoreOf(dashboard.App) is not { } store) return Unsupported();
        var purged = await store.PurgeDeadLettersAsync(cancellationToken).ConfigureAwait(false);
        WorkerActions.Audit(context, dashboard, logger, "purge dead letters", ["all dead letters"], "{}", $"{purged} purged");
        return DashboardApi.Json(new { purged });
    }

    /// <summary>The dead letters per queue among the newest <see cref="CountBound"/>; null when the broker keeps none.</summary>
    internal static async Task<IReadOnlyDictionary<string, long>?> CountByQueueAsync(FennelApp app, CancellationToken cancellationToken)
    {
        if (StoreOf(app) is not { } store) return null;
        var letters = await store.ListDeadLettersAsync(CountBound, cancellationToken).ConfigureAwait(false);
        return letters.GroupBy(l => l.Queue, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
    }

    private static DeadLetterView View(DeadLetter letter)
    {
        var task = DeadLetterTask.Read(letter);
        return new DeadLetterView(letter.Id, letter.Queue, letter.Reason, letter.DeadLetteredAt, letter.DeliveryCount, task.TaskId, task.Task, task.Args,
            task.Kwargs, letter.Body.Length);
    }

    private static JsonObject? HeadersOf(ReadOnlyMemory<byte> body)
    {
        try
        {
            return KombuEnvelope.Decode(body.Span).Headers;
        }
        catch (MessageFormatException)
        {
            return null;
        }
    }

    private static IResult NotFound(string error) => HttpResults.Json(new ErrorView(error), ApiJson.Options, statusCode: StatusCodes.Status404NotFound);

    private static IResult Unsupported() => HttpResults.Json(new ErrorView("The broker keeps no dead letters (its transport has no dead-letter store)."),
        ApiJson.Options, statusCode: StatusCodes.Status409Conflict);
}
