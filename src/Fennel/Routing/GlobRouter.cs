using System.Text;
using System.Text.RegularExpressions;

namespace Fennel.Routing;

/// <summary>
/// Routes task names that match a glob to a queue: <c>customers.*</c>, <c>core.report_?</c>, or an exact name.
/// <c>*</c> matches any run of characters (dots included, as in Celery's <c>task_routes</c>), <c>?</c> one character.
/// </summary>
public sealed class GlobRouter : ITaskRouter
{
    private readonly Regex _regex;

    /// <summary>Creates the router.</summary>
    public GlobRouter(string pattern, string queue)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentException.ThrowIfNullOrEmpty(queue);
        Pattern = pattern;
        Queue = queue;
        _regex = new Regex(ToRegex(pattern), RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    /// <summary>The glob.</summary>
    public string Pattern { get; }

    /// <summary>The queue for matching tasks.</summary>
    public string Queue { get; }

    /// <inheritdoc />
    public string? RouteForTask(string taskName) => _regex.IsMatch(taskName) ? Queue : null;

    private static string ToRegex(string glob)
    {
        var sb = new StringBuilder("^");
        foreach (var c in glob)
        {
            sb.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        }
        return sb.Append('$').ToString();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Pattern} -> {Queue}";
}
