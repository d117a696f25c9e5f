using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Live;

/// <summary>
/// <c>GET {prefix}/api/live</c>: server-sent events, one <c>snapshot</c> per <see cref="FennelDashboardOptions.LiveInterval"/>
/// from the shared <see cref="LiveFeed"/>, and a <c>: keep-alive</c> comment after <see cref="KeepAliveAfter"/> of silence.
/// Ends without fuss when the client goes or the host stops.
/// </summary>
internal static class LiveStream
{
    /// <summary>Silence after which a keep-alive comment is written (proxies close idle connections after 30 to 60 seconds).</summary>
    public static readonly TimeSpan KeepAliveAfter = TimeSpan.FromSeconds(15);

    public static void Map(RouteGroupBuilder group) => group.MapGet("/api/live", StreamAsync);

    private static async Task StreamAsync(HttpContext context, LiveFeed feed, DashboardServices dashboard, IHostApplicationLifetime lifetime,
        ILogger<LiveFeed> logger)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        using var end = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var token = end.Token;
        using var listener = feed.Listen();
        var reason = "the host stopped";
        try
        {
            await response.Body.WriteAsync(LiveWire.Retry, token).ConfigureAwait(false);
            await response.Body.FlushAsync(token).ConfigureAwait(false);
            var reader = listener.Reader;
            var waiting = reader.WaitToReadAsync(token).AsTask();
            while (true)
            {
                bool more;
                try
                {
                    more = await waiting.WaitAsync(KeepAliveAfter, dashboard.Time, token).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    await response.Body.WriteAsync(LiveWire.KeepAlive, token).ConfigureAwait(false);
                    await response.Body.FlushAsync(token).ConfigureAwait(false);
                    continue;
                }
                if (!more) break;
                while (reader.TryRead(out var message)) await response.Body.WriteAsync(message, token).ConfigureAwait(false);
                await response.Body.FlushAsync(token).ConfigureAwait(false);
                waiting = reader.WaitToReadAsync(token).AsTask();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            reason = context.RequestAborted.IsCancellationRequested ? "the client went away" : "the host stopped";
        }
        catch (IOException ex) when (context.RequestAborted.IsCancellationRequested || token.IsCancellationRequested)
        {
            // Writing to a connection the client has just closed.
            reason = "the client went away: " + ex.Message;
        }
        LiveLog.StreamEnded(logger, context.User.Identity?.Name, reason);
    }
}
