using System.Text.RegularExpressions;

namespace Fennel.Routing;

/// <summary>Routes task names that match a regular expression to a queue (Celery's <c>re.compile(...)</c> routes).</summary>
/// <param name="regex">The expression; it must match the task name (use anchors for a whole-name match).</param>
/// <param name="queue">The queue for matching tasks.</param>
public sealed class RegexRouter(Regex regex, string queue) : ITaskRouter
{
    /// <inheritdoc />
    public string? RouteForTask(string taskName) => regex.IsMatch(taskName) ? queue : null;

    /// <inheritdoc />
    public override string ToString() => $"/{regex}/ -> {queue}";
}
