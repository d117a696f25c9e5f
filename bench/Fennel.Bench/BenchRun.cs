using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Fennel.Bench.Brokers;
using Fennel.Bench.Measuring;
using Fennel.Bench.Raw;
using Fennel.Bench.Report;

namespace Fennel.Bench;

/// <summary>
/// One benchmark run: per broker (<c>--brokers</c>), one private server, then every system measured one after another on
/// it (never at the same time: the machine has few cores), then that broker's report. A signal stops the run and every
/// process it started.
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
            var reports = new List<string>();
            foreach (var broker in settings.Brokers) reports.Add(await RunAsync(settings, broker, log, stop.Token));
            var report = string.Join("\n", reports);
            if (settings.Output is not null) await File.WriteAllTextAsync(settings.Output, report, stop.Token);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            log.Step("stopped; every process the run started was stopped");
            return 1;
        }
    }

    /// <summary>
    /// Measures every system on one broker and prints its report (a section headed by the broker); with
    /// <c>--scenario io</c>, the I/O scenario instead (<see cref="IoBench"/>).
    /// </summary>
    private static async Task<string> RunAsync(BenchSettings settings, string kind, RunLog log, CancellationToken cancellationToken)
    {
        await using IBenchBroker broker = kind == "redis"
            ? settings.RedisUrl is null ? await RedisServer.StartAsync(settings.RedisServer, cancellationToken) : await RedisServer.OpenAsync(settings.RedisUrl)
            : settings.AmqpUrl is null ? await RabbitMQNode.StartAsync(cancellationToken) : await RabbitMQNode.OpenAsync(settings.AmqpUrl, cancellationToken);
        log.Step($"{broker.Description} at {broker.FennelBroker}");

        var systems = settings.SystemsOn(kind);
        var celery = new PythonCelery(settings.Python, broker.CeleryBroker, broker.CeleryBackend);
        JsonObject? versions = systems.Any(s => s.StartsWith("celery", StringComparison.Ordinal)) ? await celery.VersionsAsync(cancellationToken) : null;
        var machine = MachineInfo.Collect(broker.Description, versions, settings.Commit, TimeProvider.System);

        var commandLine = string.Join(' ', ["Fennel.Bench", .. Environment.GetCommandLineArgs().Skip(1).Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a)]);
        if (settings.Scenario == "io")
        {
            var io = await new IoBench(settings, broker, celery, log).RunAsync(systems, cancellationToken);
            var ioReport = "### I/O-bound tasks on Redis\n\n" + IoReport.Render(machine, settings, commandLine, io);
            await Console.Out.WriteAsync(ioReport);
            return ioReport;
        }

        var columns = new List<SystemResult>();
        RawResult? raw = null;
        foreach (var system in systems)
        {
            switch (system)
            {
                case "fennel":
                    columns.Add(await new FennelBench(settings, broker, log).RunAsync(cancellationToken));
                    break;
                case "raw" when broker is RabbitMQNode node:
                    raw = await new RawBench(settings, node, log).RunAsync(cancellationToken);
                    break;
                default:
                    columns.Add(await new CeleryBench(settings, broker, celery, log).RunAsync(system["celery-".Length..], cancellationToken));
                    break;
            }
        }

        var report = $"### On {(kind == "redis" ? "Redis" : "RabbitMQ")}\n\n" + MarkdownReport.Render(machine, settings, kind, commandLine, columns, raw);
        await Console.Out.WriteAsync(report);
        return report;
    }
}
