using System.Text;
using System.Text.RegularExpressions;

namespace Fennel.Control;

/// <summary>
/// Whether a pidbox request is for this node, as kombu's <c>Node.handle_message</c> decides: a non-empty destination
/// names it; otherwise a pattern with a matcher (<c>glob</c>, kombu's default, as <c>fnmatch</c>; <c>pcre</c> as
/// <c>re.match</c>, anchored at the start) must match its name; otherwise every node.
/// </summary>
internal static class NodeSelector
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>True when the request is for <paramref name="node"/>.</summary>
    /// <exception cref="ArgumentException">The matcher is unknown, or the pattern is not a valid one.</exception>
    public static bool IsFor(PidboxRequest request, string node)
    {
        if (request.Destination is { Count: > 0 } destination) return destination.Contains(node, StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(request.Pattern) && !string.IsNullOrEmpty(request.Matcher))
        {
            return request.Matcher switch
            {
                "glob" => Glob(request.Pattern).IsMatch(node),
                "pcre" => Pcre(request.Pattern, node),
                _ => throw new ArgumentException($"no matcher installed for '{request.Matcher}' (kombu has glob and pcre)"),
            };
        }
        return true;
    }

    private static bool Pcre(string pattern, string node)
    {
        try
        {
            var match = new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout).Match(node);
            return match.Success && match.Index == 0; // re.match: the leftmost match starts at 0 when any does
        }
        catch (RegexParseException ex)
        {
            throw new ArgumentException($"not a regular expression: {ex.Message}", ex);
        }
    }

    /// <summary>Python's <c>fnmatch.translate</c>: <c>*</c>, <c>?</c>, <c>[seq]</c>, <c>[!seq]</c>; the whole name must match.</summary>
    internal static Regex Glob(string pattern)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*':
                    sb.Append(".*");
                    break;
                case '?':
                    sb.Append('.');
                    break;
                case '[':
                    var close = FindClose(pattern, i);
                    if (close < 0)
                    {
                        sb.Append(@"\[");
                        break;
                    }
                    var set = pattern[(i + 1)..close].Replace(@"\", @"\\", StringComparison.Ordinal);
                    if (set.StartsWith('!')) set = "^" + set[1..];
                    else if (set.StartsWith('^')) set = @"\" + set;
                    sb.Append('[').Append(set).Append(']');
                    i = close;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        sb.Append(@"\z");
        return new Regex(sb.ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant, RegexTimeout);
    }

    private static int FindClose(string pattern, int open)
    {
        var j = open + 1;
        if (j < pattern.Length && pattern[j] == '!') j++;
        if (j < pattern.Length && pattern[j] == ']') j++; // a ']' first is part of the set
        return j < pattern.Length ? pattern.IndexOf(']', j) : -1;
    }
}
