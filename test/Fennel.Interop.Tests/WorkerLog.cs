using System.Text.RegularExpressions;

namespace Fennel.Interop.Tests;

/// <summary>
/// The per-task lines both kinds of worker log at INFO, in the same shape: Celery's
/// <c>Task tasks.add[&lt;id&gt;] received</c> / <c>... succeeded in 0.001s: 5</c>, and Fennel's
/// <c>Task tasks.add[&lt;id&gt;] received</c> / <c>... succeeded in 0.001s: 5</c> (src/Fennel/Log.cs, events 2000–2003).
/// </summary>
internal sealed partial class WorkerLog
{
    private readonly List<(string Event, string TaskId)> _entries;

    private WorkerLog(List<(string Event, string TaskId)> entries) => _entries = entries;

    public static WorkerLog Read(ChildProcess worker) =>
        new([.. worker.StderrLines.Select(l => TaskLine().Match(l)).Where(m => m.Success).Select(m => (m.Groups["event"].Value, m.Groups["id"].Value))]);

    /// <summary>Task ids this worker received a message of, once per receipt.</summary>
    public IEnumerable<string> Received => IdsOf("received");

    /// <summary>Task ids this worker ran to success, once per run.</summary>
    public IEnumerable<string> Succeeded => IdsOf("succeeded");

    /// <summary>Task ids that failed or were retried here (none in a run where every call must succeed at once).</summary>
    public IEnumerable<string> FailedOrRetried => _entries.Where(e => e.Event is "failed" or "raised" or "retry").Select(e => e.TaskId);

    private IEnumerable<string> IdsOf(string taskEvent) => _entries.Where(e => e.Event == taskEvent).Select(e => e.TaskId);

    // Celery: "[2026-11-25 12:51:39,040: INFO/MainProcess] Task tasks.add[0b6f...] succeeded in 0.0007s: 5"
    // Fennel: "2026-11-25 12:53:42.036 info: Fennel.Worker[2001] Task tasks.add[0b6f...] succeeded in 0.016s: 5"
    [GeneratedRegex(@"\bTask [\w.]+\[(?<id>[0-9a-fA-F-]{36})\] (?<event>received|succeeded|failed|raised|retry)\b")]
    private static partial Regex TaskLine();
}
