using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Fennel.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Tests;

/// <summary>A dashboard on Kestrel on a free port, embedded under <see cref="Prefix"/>, and clients for it.</summary>
internal sealed class DashboardHost : IAsyncDisposable
{
    private readonly WebApplication _web;

    private readonly string? _ownFolder;

    private DashboardHost(WebApplication web, Uri address, CapturedLog log, string? ownFolder)
    {
        _web = web;
        _ownFolder = ownFolder;
        Address = address;
        Log = log;
    }

    public const string Prefix = "/fennel";

    public Uri Address { get; }

    public CapturedLog Log { get; }

    /// <summary>The host's services (the dashboard's singletons, for tests that look inside).</summary>
    public IServiceProvider Services => _web.Services;

    /// <summary>
    /// Starts a dashboard. Its history goes to a fresh file of its own, deleted on dispose, unless <paramref name="configure"/>
    /// names one (then the file stays, for a restart on it).
    /// </summary>
    public static async Task<DashboardHost> StartAsync(FennelApp app, Action<FennelDashboardOptions>? configure = null, IPAddress? listen = null,
        Action<WebApplication>? middleware = null)
    {
        var ownFolder = Path.Combine(Path.GetTempPath(), $"fennel-dashboard-host-{Guid.NewGuid():N}");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(listen ?? IPAddress.Loopback, 0));
        var log = new CapturedLog();
        builder.Logging.ClearProviders().AddProvider(log).SetMinimumLevel(LogLevel.Information);
        builder.Services.AddFennelDashboard(app, o =>
        {
            o.ControlTimeout = TimeSpan.FromSeconds(2);
            o.History.Path = Path.Combine(ownFolder, "history.db");
            configure?.Invoke(o);
        });
        var web = builder.Build();
        middleware?.Invoke(web);
        web.MapFennelDashboard(Prefix);
        await web.StartAsync();
        var bound = new Uri(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new DashboardHost(web, new Uri(bound, Prefix + "/"), log, ownFolder);
    }

    /// <summary>A client with a cookie jar (for the anti-forgery cookie), signed in as <paramref name="user"/> when given.</summary>
    public HttpClient Client(string? user = null, string? password = null)
    {
        var client = new HttpClient(new HttpClientHandler { UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = Address };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        }
        return client;
    }

    /// <summary>Fetches the anti-forgery token and sets its header on the client (the cookie goes to its jar).</summary>
    public static async Task UseAntiforgeryAsync(HttpClient client)
    {
        var token = JsonNode.Parse(await client.GetStringAsync("api/csrf"))!;
        client.DefaultRequestHeaders.Add(token["header_name"]!.GetValue<string>(), token["token"]!.GetValue<string>());
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
        if (_ownFolder is not null && Directory.Exists(_ownFolder)) Directory.Delete(_ownFolder, recursive: true);
    }
}

/// <summary>Log records, for the audit tests.</summary>
internal sealed class CapturedLog : ILoggerProvider
{
    public ConcurrentQueue<(int EventId, string Message)> Records { get; } = new();

    /// <summary>Records at Error or above, with their exceptions.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            log.Records.Enqueue((eventId.Id, formatter(state, exception)));
            if (logLevel >= LogLevel.Error) log.Errors.Enqueue($"{eventId.Id} {formatter(state, exception)} {exception}");
        }
    }
}

internal static class TestApps
{
    /// <summary>
    /// An app on <paramref name="brokerUrl"/>, by default a fresh in-memory broker; with <paramref name="taskSentEvents"/>
    /// its client sends task-sent (the history's queue).
    /// </summary>
    public static FennelApp Create(bool taskSentEvents = false, string? brokerUrl = null)
    {
        var builder = FennelApp.CreateBuilder(["--loglevel", "warning"]);
        builder.Configure(o =>
        {
            o.BrokerUrl = brokerUrl ?? "memory://" + Guid.NewGuid().ToString("N");
            o.Worker.Concurrency = 2;
            o.Worker.ShutdownTimeout = TimeSpan.FromSeconds(10);
            o.Worker.Mingle = false;
            o.TaskSentEvents = taskSentEvents;
        });
        return builder.Build();
    }

    /// <summary>A started worker named <paramref name="name"/> that sends task events.</summary>
    public static async Task<Fennel.Worker.Worker> StartWorkerAsync(FennelApp app, string name)
    {
        var worker = app.CreateWorker(o =>
        {
            o.NodeName = name;
            o.TaskEvents = true;
        });
        await worker.StartAsync();
        return worker;
    }
}
