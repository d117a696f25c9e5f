using System.Globalization;

namespace Fennel.Tasks;

/// <summary>
/// A task rate limit as Celery writes it: <c>"100/s"</c>, <c>"10/m"</c>, <c>"500/h"</c>, or a bare number (per second).
/// Tasks start at most this often: one every <see cref="Interval"/>, with no burst (a token bucket of capacity 1, as
/// kombu's).
/// </summary>
public sealed record RateLimit
{
    private RateLimit(double perSecond, string text)
    {
        PerSecond = perSecond;
        Text = text;
        Interval = TimeSpan.FromTicks(Math.Max(1, (long)Math.Round(TimeSpan.TicksPerSecond / perSecond)));
    }

    /// <summary>Tasks per second (<c>"10/m"</c> is 1/6).</summary>
    public double PerSecond { get; }

    /// <summary>The least time between two starts: <c>"10/s"</c> is 100 ms.</summary>
    public TimeSpan Interval { get; }

    /// <summary>The limit as written, e.g. <c>"10/m"</c>.</summary>
    public string Text { get; }

    /// <summary>
    /// Reads a rate: <c>"N/s"</c>, <c>"N/m"</c>, <c>"N/h"</c> or <c>"N"</c> (per second), N a non-negative number
    /// (<c>"0.5/s"</c> is allowed). Null, empty or a zero rate mean no limit, and give null.
    /// </summary>
    /// <exception cref="FormatException">The text is not a rate; the message says what is expected.</exception>
    public static RateLimit? Parse(string? text) =>
        TryParse(text, out var rate, out var error) ? rate : throw new FormatException(error);

    /// <summary>Like <see cref="Parse"/>, without throwing; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? text, out RateLimit? rate, out string? error)
    {
        rate = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text)) return true;
        var trimmed = text.Trim();
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        var number = slash < 0 ? trimmed : trimmed[..slash];
        var unit = slash < 0 ? "" : trimmed[(slash + 1)..].Trim();
        double seconds;
        switch (unit)
        {
            case "" or "s": seconds = 1; break;
            case "m": seconds = 60; break;
            case "h": seconds = 3600; break;
            default:
                error = $"The rate limit '{text}' has the unit '{unit}'; expected s, m or h, as in \"100/s\", \"10/m\", \"500/h\".";
                return false;
        }
        if (!double.TryParse(number.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count)
            || double.IsInfinity(count))
        {
            error = $"The rate limit '{text}' does not start with a number of tasks; expected e.g. \"100/s\", \"10/m\", \"500/h\" or \"5\" (per second).";
            return false;
        }
        if (count == 0) return true;
        var perSecond = count / seconds;
        if (perSecond > 1_000_000)
        {
            error = $"The rate limit '{text}' is above a million tasks per second; leave the rate limit unset for no limit.";
            return false;
        }
        rate = new RateLimit(perSecond, trimmed);
        return true;
    }

    /// <summary>The rate of task <paramref name="task"/> from its options, checked once at registration.</summary>
    internal static RateLimit? ForTask(string task, string? text) =>
        TryParse(text, out var rate, out var error)
            ? rate
            : throw new FennelConfigurationException($"Task '{task}' has an invalid rate limit: {error}");

    /// <inheritdoc />
    public override string ToString() => Text;
}
