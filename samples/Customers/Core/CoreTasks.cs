using Fennel;
using Fennel.Tasks;

namespace Customers.Core;

/// <summary>The <c>core</c> area: arithmetic, reports, housekeeping. They run on the default queue.</summary>
public static class CoreTasks
{
    public static void Register(FennelApp app)
    {
        app.Task<int, int, int>("core.add", (int x, int y) => x + y);

        app.Task<string, int, ReportSummary>("core.generate_report", async (string reportName, int rows, CancellationToken ct) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), ct); // stands in for a query
            return new ReportSummary(reportName, rows, rows * 3);
        });

        app.Task<int, int>("core.cleanup_sessions", (int olderThanDays, TaskContext context) =>
            // A deterministic stand-in for "rows deleted", so the demo can check the answer.
            olderThanDays * 10 + context.Retries);
    }
}

/// <summary>What <c>core.generate_report</c> returns.</summary>
public sealed record ReportSummary(string Name, int Rows, int Cells);
