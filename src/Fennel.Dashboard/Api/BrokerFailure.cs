using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Fennel.Dashboard.Api;

/// <summary>
/// An endpoint filter for routes that go to the broker: a <see cref="FennelException"/> (the broker is down, refused, timed
/// out) becomes 502 with the broker's message as <c>{"error"}</c> and a log line, not a bare 500.
/// </summary>
internal static class BrokerFailure
{
    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        try
        {
            return await next(invocation).ConfigureAwait(false);
        }
        catch (FennelException ex)
        {
            var context = invocation.HttpContext;
            var logger = context.RequestServices.GetRequiredService<ILogger<DashboardServices>>();
            Log.BrokerFailed(logger, context.Request.Method, context.Request.Path, ex.Message);
            return HttpResults.Json(new ErrorView($"The broker failed: {ex.Message}" + (ex.IsTransient ? " Try again in a moment." : "")),
                ApiJson.Options, statusCode: StatusCodes.Status502BadGateway);
        }
    }
}
