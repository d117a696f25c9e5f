using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Fennel.Dashboard.Api;

/// <summary><c>GET /api/me</c>: who is signed in and whether they may act, so the pages can disable what would be refused.</summary>
internal static class SessionApi
{
    public static async Task<IResult> GetMeAsync(HttpContext context, IAuthorizationService authorization)
    {
        var canAct = await authorization.AuthorizeAsync(context.User, DashboardPolicies.Control).ConfigureAwait(false);
        return DashboardApi.Json(new { user = context.User.Identity?.Name, can_act = canAct.Succeeded });
    }
}
