using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Fennel.Dashboard.Security;

/// <summary>
/// Put first in the pipeline (as a startup filter, so before the host's own middleware): remembers the connection's real
/// address and sets the security headers on every response under the dashboard's paths, 401s and 404s included.
/// </summary>
internal sealed class SecurityHeadersStartupFilter(DashboardServices dashboard) : IStartupFilter
{
    /// <summary>Strict: nothing from elsewhere, no inline script, not framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            ConnectionAddress.Capture(context);
            if (dashboard.Covers(context.Request.Path))
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers.CacheControl = "no-store";
            }
            return nextMiddleware(context);
        });
        next(app);
    };
}
