using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Fennel.Bench.Measuring;
using Fennel.Bench.Redis;
using Fennel.Bench.Report;

namespace Fennel.Bench;

/// <summary>
/// One benchmark run: one redis-server, then Fennel, Celery threads and Celery prefork measured one after another on
/// it (never at the same time: the machine has few cores), then the report. A signal stops the run and every process it
/// started.
/// </summary>
internal static class BenchRun
{
    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // unwind, so every child process is stopped on the way out
            stop.Cancel();
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var log = new RunLog(Console.Error);
        try
        {
            return await RunAsync(settings, log, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            log.Step("stopped; every process the run started was stopped");
            return 1;
        }
    }

    private static async Task<int> RunAsync(BenchSettings settings, RunLog log, CancellationToken cancellationToken)
    {
        await using var redis = settings.RedisUrl is null
            ? await RedisServer.StartAsync(settings.RedisServer, cancellationToken)
            : await RedisServer.OpenAsync(settings.RedisUrl);
        log.Step($"redis-server {redis.Version} at {redis.Url}");

        var celery = new PythonCelery(settings.Python, redis.Url);
        var measuresCelery = settings.Systems.Any(s => s.StartsWith("celery", StringComparison.Ordinal));
        JsonObject? versions = measuresCelery ? await celery.VersionsAsync(cancellationToken) : null;
        var machine = MachineInfo.Collect(redis.Version, versions, settings.Commit, TimeProvider.System);

        SystemResult? fennel = null, threads = null, prefork = null;
        if (settings.Systems.Contains("fennel")) fennel = await new FennelBench(settings, redis, log).RunAsync(cancellationToken);
        if (settings.Systems.Contains("celery-threads")) threads = await new CeleryBench(settings, redis, celery, log).RunAsync("threads", cancellationToken);
        if (settings.Systems.Contains("celery-prefork")) prefork = await new CeleryBench(settings, redis, celery, log).RunAsync("prefork", cancellationToken);

        var commandLine = string.Join(' ', ["Fennel.Bench", .. Environment.GetCommandLineArgs().Skip(1).Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a)]);
        var report = MarkdownReport.Render(machine, settings, commandLine, fennel, threads, prefork);
        await Console.Out.WriteAsync(report);
        if (settings.Output is not null) await File.WriteAllTextAsync(settings.Output, report, cancellationToken);
        return 0;
    }
}
