using System.Diagnostics;
using System.Text.Json.Nodes;
using Fennel;
using Fennel.Calling;
using Fennel.Cli;
using Fennel.Cli.CommandLine;
using Fennel.Results;
using Microsoft.Extensions.Logging;

namespace Customers;

/// <summary>
/// <c>demo</c>: starts one worker per queue in this process (<c>customers.%h</c> on <c>customers</c>, the default one on
/// <c>celery</c>), sends a mixed batch, prints which worker ran what with the results, and checks every answer.
/// </summary>
public static class Demo
{
    public static CommandSpec Command { get; } = new("demo",
        "Runs two workers (customers.%h on 'customers', celery@%h on 'celery') in this process, sends a mixed batch and prints who ran what.",
        [new(["--rounds"], "How many rounds of the six sample calls to send (default 4)", "N")], [], RunAsync);

    private static readonly string DemoFile = Path.Combine(Path.GetTempPath(), $"fennel-demo-{Environment.ProcessId}.db");

    /// <summary>
    /// Without a configured broker the demo uses a fresh SQLite file of its own, deleted afterwards; without
    /// <c>--loglevel</c> it logs warnings only, so its report is easy to read.
    /// </summary>
    public static void Prepare(FennelAppBuilder builder, string[] args)
    {
        builder.Configure(o => o.BrokerUrl = "sqlite:///" + DemoFile);
        if (!args.Any(a => a is "-l" or "--loglevel" || a.StartsWith("--loglevel=", StringComparison.Ordinal)))
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        }
    }

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var rounds = cmd.GetInt("rounds", min: 1) ?? 4;
        Console.WriteLine($"Fennel demo on {app.Options.EffectiveBrokerUrl}");
        var customers = app.CreateWorker(o => { o.Queues = ["customers"]; o.NodeName = "customers.%h"; });
        var general = app.CreateWorker(o => { o.Queues = ["celery"]; o.NodeName = "celery@%h"; });
        await customers.StartAsync(cancellationToken);
        await general.StartAsync(cancellationToken);
        Console.WriteLine($"Workers: {customers.Name} consumes [customers], {general.Name} consumes [celery]; {customers.Options.Pool} pool, concurrency {customers.Options.Concurrency} each.");
        Console.WriteLine();

        var calls = new List<(TaskCall Call, JsonNode? Expected)>();
        for (var i = 1; i <= rounds; i++)
        {
            calls.Add((new TaskCall("customers.send_welcome", [i]), $"welcome sent to customer{i}@example.com"));
            calls.Add((new TaskCall("customers.update_score", [i, i * 5]), 100 + i * 5));
            calls.Add((new TaskCall("customers.sync_crm", [i]), $"customer {i} synced after 1 retry"));
            calls.Add((new TaskCall("core.add", [i, i * 10]), i + i * 10));
            calls.Add((new TaskCall("core.generate_report", [$"sales-{i}", i * 100]), new JsonObject { ["name"] = $"sales-{i}", ["rows"] = i * 100, ["cells"] = i * 300 }));
            calls.Add((new TaskCall("core.cleanup_sessions", [], new JsonObject { ["older_than_days"] = i }), i * 10));
        }

        var clock = Stopwatch.StartNew();
        var handles = await app.Client.SendBatchAsync([.. calls.Select(c => c.Call)], cancellationToken);
        Console.WriteLine($"Sent {handles.Count} tasks in one batch: {calls.Count(c => c.Call.Name.StartsWith("customers.", StringComparison.Ordinal))} customers.* and {calls.Count(c => c.Call.Name.StartsWith("core.", StringComparison.Ordinal))} core.*.");
        Console.WriteLine();
        Console.WriteLine($"{"TASK",-24} {"WORKER",-36} {"OK",-3} RESULT");

        var wrong = 0;
        for (var i = 0; i < handles.Count; i++)
        {
            var (call, expected) = calls[i];
            var result = await handles[i].WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            var expectedWorker = call.Name.StartsWith("customers.", StringComparison.Ordinal) ? customers.Name : general.Name;
            var ok = result.State == TaskState.Success && JsonNode.DeepEquals(result.Result, expected) && result.Worker == expectedWorker;
            if (!ok) wrong++;
            var shown = result.State == TaskState.Success ? result.Result?.ToJsonString() ?? "null" : $"{result.State.ToWire()}: {result.Exception}";
            Console.WriteLine($"{call.Name,-24} {result.Worker,-36} {(ok ? "ok" : "NO"),-3} {shown}");
        }
        var elapsed = clock.Elapsed;
        await customers.StopAsync(cancellationToken);
        await general.StopAsync(cancellationToken);
        Console.WriteLine();
        Console.WriteLine($"{handles.Count - wrong} of {handles.Count} results correct in {elapsed.TotalSeconds:0.00} s; " +
            $"{customers.Name} ran {customers.Processed} runs (retries included), {general.Name} ran {general.Processed}.");
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(DemoFile + suffix);
        return wrong == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
