using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Fennel.Dashboard.Security;

/// <summary>
/// The address the TCP connection really came from, captured before any middleware of the host (forwarded-headers
/// middleware rewrites <c>Connection.RemoteIpAddress</c> from <c>X-Forwarded-For</c>, which a client can spoof).
/// </summary>
internal static class ConnectionAddress
{
    private static readonly object Key = new();

    public static void Capture(HttpContext context) =>
        context.Items[Key] = context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress ?? context.Connection.RemoteIpAddress;

    public static IPAddress? Of(HttpContext context) =>
        context.Items.TryGetValue(Key, out var address) ? address as IPAddress : context.Connection.RemoteIpAddress;

    public static bool IsLoopback(HttpContext context) => Of(context) is { } address && IPAddress.IsLoopback(address);
}
