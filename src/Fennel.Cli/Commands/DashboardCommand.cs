using System.Globalization;
using System.Net;
using Fennel.Cli.CommandLine;
using Fennel.Dashboard;
using Fennel.Dashboard.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>dashboard</c>: the monitoring web app on its own (pages, JSON API, live stream, metrics). Without users it listens on loopback only
/// and says so; it refuses another address without users (exit 78).
/// </summary>
internal static class DashboardCommand
{
    public static CommandSpec Spec { get; } = new("dashboard",
        "Serves the monitoring dashboard (pages, JSON API under /api/, /metrics); basic authentication, or loopback only without it.",
    [
        new(["--port"], "Port to listen on (default 5555)", "PORT"),
        new(["--address"], "Address to listen on (default 127.0.0.1; another needs --basic-auth)", "IP"),
        new(["--basic-auth"], "A user who may act, as user:password (repeatable, comma-separated)", "USER:PASSWORD"),
        new(["--read-only-auth"], "A user who may only look, as user:password (repeatable, comma-separated)", "USER:PASSWORD"),
        new(["--history"], "The SQLite file for task and worker history, kept across restarts (default ./fennel-dashboard.db)", "PATH"),
        new(["--history-max-age"], "Forget tasks not updated for longer than this: a number with d, h, m or s (default 7d)", "AGE"),
        new(["--history-max-tasks"], "Keep at most this many tasks in the history, the least recently updated go first (default 100000)", "N"),
        new(["--metrics-token"], "Serve /metrics to 'Authorization: Bearer TOKEN' (at least 16 characters) instead of the dashboard's users", "TOKEN"),
        new(["--metrics-public"], "Serve /metrics to anyone, without credentials (say so on purpose: a warning is logged)"),
        new(["--for"], "Stop after this many seconds (default: until Ctrl+C)", "SECONDS"),
    ], [], RunAsync)
    {
        Details = "Users with hashed passwords come from configuration instead (Fennel:Dashboard:Users, see docs/dashboard.md). " +
            "Task history (7 days, at most 100 000 tasks, see --history-max-age and --history-max-tasks) is kept in --history, by default fennel-dashboard.db in the working directory. " +
            "Prometheus metrics are at /metrics, for the dashboard's users unless --metrics-token or --metrics-public says otherwise.",
    };

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var port = cmd.GetInt("port", min: 0) ?? 5555;
        if (port > 65535) throw new UsageException($"--port {port} is not a port (0–65535).");
        var addressText = cmd.Get("address") ?? "127.0.0.1";
        if (!IPAddress.TryParse(addressText, out var address)) throw new UsageException($"--address '{addressText}' is not an IP address.");
        var users = Users(cmd.Get("basic-auth"), readOnly: false).Concat(Users(cmd.Get("read-only-auth"), readOnly: true)).ToList();
        var configured = app.Configuration.GetSection("Fennel:Dashboard:Users").GetChildren()
            .Select(s => new FennelDashboardUser
            {
                Name = s["Name"] ?? "",
                Password = s["Password"],
                PasswordHash = s["PasswordHash"],
                ReadOnly = bool.TryParse(s["ReadOnly"], out var ro) && ro,
            });
        users.AddRange(configured);
        if (users.Count == 0 && !IPAddress.IsLoopback(address))
        {
            throw new FennelConfigurationException($"The dashboard will not listen on {address} without authentication: anyone who reaches it " +
                "could shut workers down. Give --basic-auth user:password (or users in configuration), or listen on 127.0.0.1.");
        }

        var maxAge = cmd.Get("history-max-age") is { } ageText ? ParseAge(ageText) : (TimeSpan?)null;
        var maxTasks = cmd.GetInt("history-max-tasks", min: 1);
        var metrics = Metrics(cmd, app.Configuration["Fennel:Dashboard:Metrics:BearerToken"]);

        var historyText = cmd.Get("history") ?? DefaultHistoryFile;
        if (string.IsNullOrWhiteSpace(historyText)) throw new UsageException("--history needs a file path.");
        string historyPath;
        try
        {
            historyPath = Path.GetFullPath(historyText);
            if (Directory.Exists(historyPath)) throw new UsageException($"--history '{historyText}' is a folder; give a file (e.g. {Path.Combine(historyText, DefaultHistoryFile)}).");
            Directory.CreateDirectory(Path.GetDirectoryName(historyPath)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            await Console.Error.WriteLineAsync($"error: cannot make the folder for the history '{historyText}': {ex.Message}").ConfigureAwait(false);
            return ExitCodes.CannotCreate;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(address, port));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(app.LoggerFactory);
        builder.Services.AddFennelDashboard(app, o =>
        {
            foreach (var user in users) o.Users.Add(user);
            o.History.Path = historyPath;
            if (maxAge is { } age) o.History.MaxAge = age;
            if (maxTasks is { } max) o.History.MaxTasks = max;
            o.Metrics = metrics;
        });
        await using var web = builder.Build();
        web.MapFennelDashboard("/");
        using var watching = new Watching(cmd.GetSeconds("for"), cancellationToken);
        try
        {
            await web.StartAsync(watching.Token).ConfigureAwait(false);
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            await Console.Error.WriteLineAsync($"error: cannot open the history {historyPath}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.CannotCreate;
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"error: cannot listen on {address}:{port}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.CannotCreate;
        }
        var url = string.Join(", ", web.Urls);
        Console.WriteLine(users.Count == 0
            ? $"Dashboard on {url} — NO AUTHENTICATION: listening on loopback only; anyone on this machine can use it. Give --basic-auth user:password to require a sign-in."
            : string.Create(CultureInfo.InvariantCulture, $"Dashboard on {url} — basic authentication, {users.Count(u => !u.ReadOnly)} user(s) who may act, {users.Count(u => u.ReadOnly)} read-only."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Task history in {historyPath} (tasks updated within {Age(maxAge ?? HistoryDefaults.MaxAge)}, at most {maxTasks ?? HistoryDefaults.MaxTasks})."));
        Console.WriteLine(metrics.Access switch
        {
            FennelMetricsAccess.BearerToken => "Metrics on /metrics for the bearer token.",
            FennelMetricsAccess.Public => "Metrics on /metrics — PUBLIC: anyone who reaches this address can read them.",
            _ => "Metrics on /metrics for the dashboard's users.",
        });
        Console.Out.Flush();
        await watching.WaitAsync().ConfigureAwait(false);
        await web.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static readonly TaskHistoryOptions HistoryDefaults = new();

    /// <summary>The history file when --history is not given: in the working directory.</summary>
    private const string DefaultHistoryFile = "fennel-dashboard.db";

    /// <summary>--history-max-age: a positive number and a unit, d, h, m or s (7d, 12h, 1.5h, 90m).</summary>
    internal static TimeSpan ParseAge(string text)
    {
        var trimmed = text.Trim();
        var unit = trimmed.Length > 0 ? char.ToLowerInvariant(trimmed[^1]) : ' ';
        Func<double, TimeSpan>? make = unit switch
        {
            'd' => TimeSpan.FromDays,
            'h' => TimeSpan.FromHours,
            'm' => TimeSpan.FromMinutes,
            's' => TimeSpan.FromSeconds,
            _ => null,
        };
        if (make is null || !double.TryParse(trimmed[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || !(amount > 0) || double.IsInfinity(amount) || amount > 36_500 * (unit switch { 'h' => 24d, 'm' => 1440d, 's' => 86_400d, _ => 1d }))
        {
            throw new UsageException($"--history-max-age expects a positive number with a unit d, h, m or s (7d, 12h, 90m), up to 100 years; not '{text}'.");
        }
        return make(amount);
    }

    private static string Age(TimeSpan age) =>
        age.TotalDays >= 1 && age.TotalDays == Math.Floor(age.TotalDays) ? string.Create(CultureInfo.InvariantCulture, $"{age.TotalDays:0} d")
        : age.TotalHours >= 1 && age.TotalHours == Math.Floor(age.TotalHours) ? string.Create(CultureInfo.InvariantCulture, $"{age.TotalHours:0} h")
        : age.ToString("c", CultureInfo.InvariantCulture);

    /// <summary>--metrics-token and --metrics-public (at most one; the token may also come from Fennel:Dashboard:Metrics:BearerToken).</summary>
    private static FennelDashboardMetricsOptions Metrics(ParsedCommand cmd, string? configuredToken)
    {
        var token = cmd.Get("metrics-token") ?? (string.IsNullOrEmpty(configuredToken) ? null : configuredToken);
        var isPublic = cmd.Has("metrics-public");
        if (token is not null && isPublic) throw new UsageException("--metrics-token and --metrics-public exclude each other: give one.");
        if (token is null) return new FennelDashboardMetricsOptions { Access = isPublic ? FennelMetricsAccess.Public : FennelMetricsAccess.Dashboard };
        if (token.Trim().Length < FennelDashboardMetricsOptions.MinTokenLength)
        {
            throw new UsageException($"The metrics token (--metrics-token or Fennel:Dashboard:Metrics:BearerToken) must be at least {FennelDashboardMetricsOptions.MinTokenLength} characters (e.g. openssl rand -hex 32).");
        }
        return new FennelDashboardMetricsOptions { Access = FennelMetricsAccess.BearerToken, BearerToken = token };
    }

    private static IEnumerable<FennelDashboardUser> Users(string? option, bool readOnly)
    {
        if (option is null) return [];
        try
        {
            return [.. option.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => FennelDashboardUser.Parse(c, readOnly))];
        }
        catch (FennelConfigurationException ex)
        {
            throw new UsageException((readOnly ? "--read-only-auth: " : "--basic-auth: ") + ex.Message);
        }
    }
}
