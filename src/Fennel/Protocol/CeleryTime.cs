using System.Globalization;

namespace Fennel.Protocol;

/// <summary>Times as Celery writes them: ISO-8601 with microseconds, as Python's <c>isoformat()</c> does.</summary>
internal static class CeleryTime
{
    /// <summary>Formats with the offset, e.g. <c>2030-01-02T03:04:05.678901+00:00</c> (headers <c>eta</c>, <c>expires</c>).</summary>
    public static string Format(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return utc.ToString(FractionOf(utc) ? "yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'" : "yyyy-MM-dd'T'HH:mm:ss'+00:00'",
            CultureInfo.InvariantCulture);
    }

    /// <summary>Formats as naive UTC without an offset, e.g. <c>2026-11-25T11:02:29.325375</c> (result <c>date_done</c>).</summary>
    public static string FormatNaiveUtc(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return utc.ToString(FractionOf(utc) ? "yyyy-MM-dd'T'HH:mm:ss.ffffff" : "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>Parses an ISO-8601 time; a time without an offset is taken as UTC, as Celery does with <c>enable_utc</c>.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        if (!string.IsNullOrEmpty(text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value))
        {
            return true;
        }
        value = default;
        return false;
    }

    private static bool FractionOf(DateTimeOffset utc) => utc.Ticks % TimeSpan.TicksPerSecond / 10 != 0;
}
