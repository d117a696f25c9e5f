using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Fennel.Cli.CommandLine;
using Fennel.Hosting;
using Fennel.Worker;
using Microsoft.Extensions.Logging;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>worker</c>: runs a worker in the foreground until a signal stops it. SIGTERM or SIGINT (Ctrl+C) = warm shutdown,
/// a second one or SIGQUIT = cold shutdown. Exits 0 after a warm shutdown, 1 after a cold one. It never daemonizes: a
/// supervisor (Supervisor, systemd, Kubernetes) owns it; with <c>--pidfile</c> it writes its pid, under systemd
/// (<c>NOTIFY_SOCKET</c>) it notifies readiness and pings the watchdog, with <c>--health-listen</c> it answers liveness probes.
/// </summary>
internal static class WorkerCommand
{
    public static CommandSpec Spec { get; } = new("worker", "Runs a worker in the foreground: consumes queues and runs tasks until stopped by a signal.",
    [
        new(["-Q", "--queues"], "Queues to consume, comma-separated (default: celery)", "QUEUES"),
        new(["-n", "--hostname"], "Node name: %h host+domain, %n host, %d domain; 'celery@' is added without '@' (default celery@%h)", "NAME"),
        new(["-c", "--concurrency"], "Tasks run at once (default: CPU cores)", "N"),
        new(["-P", "--pool"], "Pool: async (default, for awaiting tasks), threads (for blocking tasks) or process (alias prefork: a child process per slot, " +
            "for isolation, hard time limits and recycling; the app must run through app.RunAsync(args))", "POOL"),
        new(["--prefetch-multiplier"], "Messages held per concurrency slot (default 4)", "N"),
        new(["--shutdown-timeout"], "Seconds a warm shutdown waits for running tasks before going cold (default 50)", "SECONDS"),
        new(["--soft-time-limit"], "Seconds after which a task's cancellation token fires, for tasks that set no limit (default none)", "SECONDS"),
        new(["--time-limit"], "Seconds after which a task ends FAILURE TimeLimitExceeded, for tasks that set no limit (default none); " +
            "the process pool kills and replaces the child running it", "SECONDS"),
        new(["--max-tasks-per-child"], "Process pool: replace a child after it ran N tasks (default: never)", "N"),
        new(["--max-memory-per-child"], "Process pool: replace a child whose resident memory is above KIB kibibytes after a task; the task finishes first " +
            "(KiB as in Celery: 204800 = 200 MiB; default: no limit)", "KIB"),
        new(["-E", "--events"], "Send task events (task-received, -started, -succeeded, ...) for celery events, Flower and fennel events; " +
            "worker events (online, heartbeat, offline) are always sent (default off; Fennel:Worker:TaskEvents)"),
        new(["--without-mingle"], "Do not ask the running workers for their revoked tasks at start-up (mingle; on by default, as Celery)"),
        new(["--pidfile"], "Write the pid here, remove it on exit; refuse to start (exit 73) while it names a running process (%n, %h, %p, %i as --logfile)", "PATH"),
        new(["--health-listen"], "Serve GET /healthz on PORT or IP:PORT (PORT alone: 127.0.0.1): 200 while consuming, 503 when starting, stopping or stuck", "ADDRESS"),
    ], [], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        if (app.Tasks.All.Count == 0)
        {
            await Console.Error.WriteLineAsync("error: this app registers no tasks, so a worker here would only dead-letter messages. " +
                "Run the worker from your own app: dotnet run --project YourApp -- worker").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        var pool = cmd.Get("pool");
        WorkerPoolKind? poolKind = pool switch
        {
            null => null,
            "async" => WorkerPoolKind.Async,
            "threads" => WorkerPoolKind.Threads,
            "process" or "prefork" => WorkerPoolKind.Process,
            _ => throw new UsageException($"Unknown pool '{pool}'; choose async, threads or process (prefork)."),
        };
        var concurrency = cmd.GetInt("concurrency", min: 1);
        var prefetch = cmd.GetInt("prefetch-multiplier", min: 1);
        var shutdown = cmd.GetSeconds("shutdown-timeout");
        var softLimit = cmd.GetSeconds("soft-time-limit");
        var hardLimit = cmd.GetSeconds("time-limit");
        IPEndPoint? healthAddress;
        try
        {
            healthAddress = cmd.Get("health-listen") is { } listen ? HealthEndpoint.ParseAddress(listen) : null;
        }
        catch (FormatException ex)
        {
            throw new UsageException(ex.Message);
        }
        var maxTasks = cmd.GetInt("max-tasks-per-child", min: 1);
        var maxMemory = cmd.GetInt("max-memory-per-child", min: 1);
        var worker = app.CreateWorker(o =>
        {
            if (cmd.Get("queues") is { } queues) o.Queues = [.. queues.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            if (cmd.Get("hostname") is { } name) o.NodeName = name;
            if (concurrency is { } c) o.Concurrency = c;
            if (poolKind is { } p) o.Pool = p;
            if (prefetch is { } m) o.PrefetchMultiplier = m;
            if (shutdown is { } s) o.ShutdownTimeout = s;
            if (softLimit is { } soft) o.SoftTimeLimit = soft;
            if (hardLimit is { } hard) o.TimeLimit = hard;
            if (maxTasks is { } t) o.MaxTasksPerChild = t;
            if (maxMemory is { } kib) o.MaxMemoryPerChild = kib;
            if (cmd.Has("events")) o.TaskEvents = true;
            if (cmd.Has("without-mingle")) o.Mingle = false;
        });

        var logger = app.LoggerFactory.CreateLogger("Fennel.Worker");
        var pidPath = cmd.Get("pidfile") is { } pidPattern ? FormatPath("--pidfile", pidPattern, worker.Name) : null;
        PidFile? pidFile = null;
        HealthEndpoint? health = null;
        try
        {
            if (pidPath is not null) pidFile = PidFile.Create(pidPath, logger);
            if (healthAddress is not null) health = HealthEndpoint.Start(healthAddress, () => HealthReport.Of(worker, app.TimeProvider, WorkerLiveness.StaleAfter), logger);
            return await RunWorkerAsync(app, worker, logger, cancellationToken).ConfigureAwait(false);
        }
        catch (PidFileException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.CannotCreate;
        }
        catch (SocketException ex) when (health is null && healthAddress is not null)
        {
            await Console.Error.WriteLineAsync($"error: cannot serve the health check on {healthAddress}: {ex.Message}. " +
                "Choose another --health-listen address, or stop what listens there.").ConfigureAwait(false);
            return ExitCodes.CannotCreate;
        }
        finally
        {
            if (health is not null) await health.DisposeAsync().ConfigureAwait(false);
            pidFile?.Dispose();
        }
    }

    private static async Task<int> RunWorkerAsync(FennelApp app, Worker.Worker worker, ILogger logger, CancellationToken cancellationToken)
    {
        using var notifier = SystemdNotifier.FromEnvironment(logger);
        var systemd = notifier is null ? null : new SystemdWorkerNotifications(notifier, worker, app.TimeProvider, logger);
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we decide how to stop
            var count = Interlocked.Increment(ref signals);
            var cold = context.Signal == PosixSignal.SIGQUIT || count > 1;
            systemd?.Stopping(cold);
            if (cold) _ = worker.StopColdAsync();
            else _ = worker.StopAsync(CancellationToken.None);
        }
        // A remote `shutdown` (celery control shutdown, fennel control shutdown) stops the process as SIGTERM does: warm, exit 0.
        worker.ShutdownRequested = () =>
        {
            if (Interlocked.Increment(ref signals) > 1) return;
            systemd?.Stopping(false);
            _ = worker.StopAsync(CancellationToken.None);
        };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
        using var cancel = cancellationToken.Register(() => _ = worker.StopAsync(CancellationToken.None));

        await worker.StartAsync(cancellationToken).ConfigureAwait(false);
        var notifying = Task.CompletedTask;
        if (systemd is not null)
        {
            systemd.Ready();
            notifying = Task.Run(systemd.RunAsync, CancellationToken.None);
        }
        await worker.Completion.ConfigureAwait(false);
        await notifying.ConfigureAwait(false);
        return worker.StoppedCold ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>Expands a path option for this node (process index 0); a bad substitution is a usage error.</summary>
    internal static string FormatPath(string option, string pattern, string nodeName)
    {
        try
        {
            return NodeNames.FormatPath(pattern, nodeName);
        }
        catch (FormatException ex)
        {
            throw new UsageException($"{option}: {ex.Message}");
        }
    }
}
