using Fennel;
using Fennel.Dashboard;
using Fennel.Dashboard.Api;
using Fennel.Dashboard.Hosting;
using Fennel.Dashboard.Live;
using Fennel.Dashboard.Metrics;
using Fennel.Dashboard.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

using HttpResults = Microsoft.AspNetCore.Http.Results;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Fennel's dashboard to an ASP.NET Core app.</summary>
public static class FennelDashboardExtensions
{
    /// <summary>
    /// Registers the dashboard's services for <paramref name="app"/>: its authentication scheme and policies,
    /// anti-forgery, the security headers, and a background service that keeps the cluster state and the task history (<see cref="FennelDashboardOptions.History"/>) fed from Celery events.
    /// The app stays the caller's: the dashboard never disposes it. Call once.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="app">The Fennel app whose broker the dashboard watches.</param>
    /// <param name="configure">Users, throttling, timeouts.</param>
    /// <returns>The services.</returns>
    /// <exception cref="FennelConfigurationException">The options are invalid.</exception>
    public static IServiceCollection AddFennelDashboard(this IServiceCollection services, FennelApp app, Action<FennelDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(app);
        if (services.Any(s => s.ServiceType == typeof(DashboardServices))) throw new InvalidOperationException("AddFennelDashboard was already called.");
        var options = new FennelDashboardOptions();
        configure?.Invoke(options);
        options.Validate();
        services.AddSingleton(sp => new DashboardServices(app, options, sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IStartupFilter, SecurityHeadersStartupFilter>();
        services.AddSingleton(sp => new TaskMetrics(options.Metrics.MaxTaskNames, sp.GetRequiredService<ILoggerFactory>().CreateLogger<TaskMetrics>()));
        services.AddSingleton<LiveFeed>();
        // In this order: the history opens before the feed subscribes, and (stopped in reverse) closes after it unsubscribed.
        services.AddHostedService<TaskHistoryHost>();
        services.AddHostedService<EventFeed>();
        services.AddHostedService<WorkerPing>();
        services.AddAntiforgery();
        if (options.UseHostAuthentication)
        {
            // The host's default scheme signs users in and challenges; the dashboard only asks for a user, and a role to act.
            services.AddAuthorizationBuilder()
                .AddPolicy(DashboardPolicies.View, p => p.RequireAuthenticatedUser())
                .AddPolicy(DashboardPolicies.Control, p => p.RequireAuthenticatedUser().RequireRole(options.HostAdminRole));
        }
        else
        {
            services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, BasicAuthenticationHandler>(DashboardPolicies.Scheme, null);
            services.AddAuthorizationBuilder()
                .AddPolicy(DashboardPolicies.View, p => p.AddAuthenticationSchemes(DashboardPolicies.Scheme).RequireAuthenticatedUser())
                .AddPolicy(DashboardPolicies.Control, p => p.AddAuthenticationSchemes(DashboardPolicies.Scheme).RequireRole(DashboardRoles.Admin));
        }
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// Maps the dashboard under <paramref name="prefix"/>: the web pages at <c>{prefix}/</c>, the JSON API at
    /// <c>{prefix}/api/...</c>, the live stream at <c>{prefix}/api/live</c> and Prometheus metrics at
    /// <c>{prefix}/metrics</c>. Every route needs a
    /// dashboard user (401 otherwise); add the host's own requirements to the returned group
    /// (<c>.RequireAuthorization("ops")</c>) and both apply — except on <c>/metrics</c> when
    /// <see cref="FennelDashboardMetricsOptions.Access"/> is a bearer token or public, which answers to that alone.
    /// </summary>
    /// <param name="endpoints">The app's endpoints (a <c>WebApplication</c>).</param>
    /// <param name="prefix">Where: <c>/fennel</c>, or <c>/</c> for a dashboard of its own.</param>
    /// <returns>The dashboard's route group.</returns>
    public static RouteGroupBuilder MapFennelDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/fennel")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var dashboard = endpoints.ServiceProvider.GetService<DashboardServices>()
            ?? throw new InvalidOperationException("Call services.AddFennelDashboard(app) before MapFennelDashboard.");
        var normalized = "/" + prefix.Trim('/');
        dashboard.AddPrefix(normalized == "/" ? PathString.Empty : new PathString(normalized));
        var group = endpoints.MapGroup(normalized).RequireAuthorization(DashboardPolicies.View);
        DashboardPages.Map(group);
        DashboardApi.Map(group);
        LiveStream.Map(group);
        MetricsEndpoint.Map(group, dashboard, endpoints.ServiceProvider.GetRequiredService<TaskMetrics>(), normalized,
            endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MetricsEndpoint).FullName!));
        // Every other path under the prefix: 404 for a signed-in user, 401 for anyone else (not the host's fallback).
        group.Map("/{**rest}", () => HttpResults.Json(new ErrorView("Not found."), ApiJson.Options, statusCode: StatusCodes.Status404NotFound));
        return group;
    }
}
