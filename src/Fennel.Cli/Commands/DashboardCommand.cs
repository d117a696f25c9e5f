using System.Globalization;
using System.Net;
using Fennel.Cli.CommandLine;
using Fennel.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>dashboard</c>: the monitoring web app on its own (the JSON API for now). Without users it listens on loopback only
/// and says so; it refuses another address without users (exit 78).
/// </summary>
internal static class DashboardCommand
{
    public static CommandSpec Spec { get; } = new("dashboard",
        "Serves the monitoring dashboard (JSON API under /api/); basic authentication, or loopback only without it.",
    [
        new(["--port"], "Port to listen on (default 5555)", "PORT"),
        new(["--address"], "Address to listen on (default 127.0.0.1; another needs --basic-auth)", "IP"),
        new(["--basic-auth"], "A user who may act, as user:password (repeatable, comma-separated)", "USER:PASSWORD"),
        new(["--read-only-auth"], "A user who may only look, as user:password (repeatable, comma-separated)", "USER:PASSWORD"),
        new(["--history"], "The SQLite file for task and worker history, kept across restarts (default ./fennel-dashboard.db)", "PATH"),
        new(["--for"], "Stop after this many seconds (default: until Ctrl+C)", "SECONDS"),
    ], [], RunAsync)
    {
        Details = "Users with hashed passwords come from configuration instead (Fennel:Dashboard:Users, see docs/dashboard.md). " +
            "Task history (7 days, at most 100 000 tasks) is kept in --history, by default fennel-dashboard.db in the working directory.",
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
        Console.WriteLine($"Task history in {historyPath}.");
        Console.Out.Flush();
        await watching.WaitAsync().ConfigureAwait(false);
        await web.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>The history file when --history is not given: in the working directory.</summary>
    private const string DefaultHistoryFile = "fennel-dashboard.db";

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
