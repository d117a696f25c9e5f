using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Python;

namespace Fennel.Tasks;

/// <summary>
/// Which arguments of a task are sensitive (<see cref="SensitiveAttribute"/>, <see cref="TaskOptions.SensitiveArguments"/>,
/// or all of them with <see cref="TaskOptions.Sensitive"/>), and the Python reprs of a call with their values replaced by
/// <c>'***'</c>. Built once per task; null on a task with nothing sensitive, so the common case costs nothing.
/// </summary>
internal sealed class ArgumentRedaction
{
    /// <summary>What a sensitive value becomes (a Python string, so its repr is <c>'***'</c>).</summary>
    public const string Mask = "***";

    private readonly bool _all;
    private readonly bool[] _positional;
    private readonly HashSet<string> _keywords;

    private ArgumentRedaction(bool all, bool[] positional, HashSet<string> keywords)
    {
        _all = all;
        _positional = positional;
        _keywords = keywords;
    }

    /// <summary>
    /// The redaction for a handler's arguments (name, snake_case name, marked sensitive), or null when none is sensitive.
    /// </summary>
    /// <exception cref="FennelConfigurationException">A name in <paramref name="sensitiveNames"/> is not an argument.</exception>
    public static ArgumentRedaction? For(string taskName, IReadOnlyList<(string Name, string SnakeName, bool Marked)> arguments,
        bool all, IReadOnlyCollection<string> sensitiveNames)
    {
        foreach (var name in sensitiveNames)
        {
            if (!arguments.Any(a => Matches(a, name)))
            {
                throw new FennelConfigurationException($"Task '{taskName}' marks '{name}' sensitive, but its handler has no argument of that name " +
                    $"(arguments: {(arguments.Count == 0 ? "none" : string.Join(", ", arguments.Select(a => a.Name)))}).");
            }
        }
        var positional = arguments.Select(a => all || a.Marked || sensitiveNames.Any(n => Matches(a, n))).ToArray();
        if (!positional.Contains(true) && !all) return null;
        var keywords = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < arguments.Count; i++)
        {
            if (!positional[i]) continue;
            keywords.Add(arguments[i].Name);
            keywords.Add(arguments[i].SnakeName);
        }
        return new ArgumentRedaction(all, positional, keywords);
    }

    /// <summary>True when the argument of this name (as a keyword) or position is sensitive.</summary>
    public bool IsSensitive(string name, int position) =>
        _all || (position >= 0 && position < _positional.Length && _positional[position]) || _keywords.Contains(name);

    /// <summary>The <c>argsrepr</c> and <c>kwargsrepr</c> of a call, sensitive values shown as <c>'***'</c>.</summary>
    public (string Args, string Kwargs) Repr(JsonArray args, JsonObject kwargs)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(kwargs);
        // Everything hidden, as Celery users write argsrepr='***' by hand: not even the number of arguments shows.
        if (_all) return ("'***'", "'***'");
        var shownArgs = new JsonArray();
        for (var i = 0; i < args.Count; i++)
        {
            shownArgs.Add(i < _positional.Length && _positional[i] ? JsonValue.Create(Mask) : args[i]?.DeepClone());
        }
        var shownKwargs = new JsonObject();
        foreach (var (key, value) in kwargs) shownKwargs[key] = _keywords.Contains(key) ? JsonValue.Create(Mask) : value?.DeepClone();
        return (PythonRepr.Args(shownArgs), PythonRepr.Kwargs(shownKwargs));
    }

    private static bool Matches((string Name, string SnakeName, bool Marked) argument, string name) =>
        string.Equals(argument.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(argument.SnakeName, name, StringComparison.Ordinal);
}
