using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Fennel.Dashboard.History;
using Microsoft.AspNetCore.Http;

namespace Fennel.Dashboard.Api;

/// <summary>Reads <c>GET /api/tasks</c>'s query string into a <see cref="TaskQuery"/>, or says what is wrong with it.</summary>
internal static class TaskQueryParser
{
    public const int DefaultPageSize = 50;
    public const int MaxSearchLength = 256;
    public const int MaxStates = 32;

    private static readonly string[] Known = ["states", "state", "name", "worker", "queue", "from", "to", "search", "sort", "desc", "offset", "limit"];

    private static readonly Dictionary<string, TaskSortField> Sorts = new(StringComparer.OrdinalIgnoreCase)
    {
        ["seen"] = TaskSortField.Seen,
        ["received"] = TaskSortField.Received,
        ["started"] = TaskSortField.Started,
        ["finished"] = TaskSortField.Finished,
        ["name"] = TaskSortField.Name,
        ["state"] = TaskSortField.State,
        ["runtime"] = TaskSortField.Runtime,
    };

    public static bool TryParse(IQueryCollection query, [NotNullWhen(true)] out TaskQuery? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        foreach (var (key, values) in query)
        {
            if (!Known.Contains(key, StringComparer.Ordinal))
            {
                error = $"Unknown parameter '{key}'; the parameters are {string.Join(", ", Known)}.";
                return false;
            }
            if (values.Count > 1)
            {
                error = key is "states" or "state"
                    ? $"Give '{key}' once, as a comma-separated list (states=SUCCESS,FAILURE)."
                    : $"Give '{key}' once (it was given {values.Count} times).";
                return false;
            }
        }

        var states = new List<string>();
        foreach (var key in (string[])["states", "state"])
        {
            foreach (var item in (Value(query, key) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (item.Length > 64 || !item.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
                {
                    error = $"'{key}' has '{Shorten(item)}', which is not a task state (SUCCESS, FAILURE, STARTED, ...).";
                    return false;
                }
                var upper = item.ToUpperInvariant();
                if (!states.Contains(upper, StringComparer.Ordinal)) states.Add(upper);
            }
        }
        if (states.Count > MaxStates)
        {
            error = $"At most {MaxStates} states can be given at once.";
            return false;
        }

        if (!TryTime(query, "from", out var from, out error) || !TryTime(query, "to", out var to, out error)) return false;
        if (from is { } f && to is { } t && f >= t)
        {
            error = $"'from' ({f:O}) must be before 'to' ({t:O}).";
            return false;
        }

        var search = Value(query, "search");
        if (search is { Length: > MaxSearchLength })
        {
            error = $"'search' is {search.Length} characters; at most {MaxSearchLength}.";
            return false;
        }

        var sort = TaskSortField.Seen;
        if (Value(query, "sort") is { } sortText && !Sorts.TryGetValue(sortText, out sort))
        {
            error = $"'sort' is '{Shorten(sortText)}'; it must be one of {string.Join(", ", Sorts.Keys)}.";
            return false;
        }

        var descending = true;
        if (Value(query, "desc") is { } descText)
        {
            switch (descText.ToUpperInvariant())
            {
                case "TRUE" or "1": descending = true; break;
                case "FALSE" or "0": descending = false; break;
                default:
                    error = $"'desc' is '{Shorten(descText)}'; it must be true or false.";
                    return false;
            }
        }

        if (!TryInt(query, "offset", 0, int.MaxValue, 0, out var offset, out error)) return false;
        if (!TryInt(query, "limit", 1, TaskHistoryStore.MaxPageSize, DefaultPageSize, out var limit, out error)) return false;

        result = new TaskQuery
        {
            States = states.Count > 0 ? states : null,
            Name = Value(query, "name"),
            Worker = Value(query, "worker"),
            Queue = Value(query, "queue"),
            From = from,
            To = to,
            Search = search,
            SortBy = sort,
            Descending = descending,
            Offset = offset,
            Limit = limit,
        };
        error = null;
        return true;
    }

    /// <summary>The parameter's value; null when absent or empty (an empty form field filters nothing).</summary>
    private static string? Value(IQueryCollection query, string key) =>
        query.TryGetValue(key, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    private static bool TryTime(IQueryCollection query, string key, out DateTimeOffset? time, [NotNullWhen(false)] out string? error)
    {
        time = null;
        error = null;
        if (Value(query, key) is not { } text) return true;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var parsed))
        {
            time = parsed;
            return true;
        }
        error = $"'{key}' is '{Shorten(text)}', which is not an ISO 8601 time (2026-01-31T12:00:00Z).";
        return false;
    }

    private static bool TryInt(IQueryCollection query, string key, int min, int max, int fallback, out int value, [NotNullWhen(false)] out string? error)
    {
        value = fallback;
        error = null;
        if (Value(query, key) is not { } text) return true;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max) return true;
        error = max == int.MaxValue
            ? $"'{key}' is '{Shorten(text)}'; it must be a whole number, at least {min}."
            : $"'{key}' is '{Shorten(text)}'; it must be a whole number from {min} to {max}.";
        return false;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
