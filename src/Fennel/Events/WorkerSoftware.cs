using System.Globalization;
using System.Reflection;

namespace Fennel.Events;

/// <summary>What a worker says about itself in <c>worker-*</c> events: <c>sw_ident</c>, <c>sw_ver</c>, <c>sw_sys</c>, <c>loadavg</c>.</summary>
internal static class WorkerSoftware
{
    /// <summary><c>sw_ident</c>: <c>fennel</c> (Celery sends <c>py-celery</c>).</summary>
    public const string Identity = "fennel";

    /// <summary><c>sw_ver</c>: the Fennel assembly's version, without a build suffix (<c>1.2.0</c>).</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary><c>sw_sys</c>: the operating system as Python's <c>platform.system()</c> names it (<c>Linux</c>, <c>Darwin</c>, <c>Windows</c>).</summary>
    public static string System { get; } =
        OperatingSystem.IsLinux() ? "Linux"
        : OperatingSystem.IsMacOS() ? "Darwin"
        : OperatingSystem.IsWindows() ? "Windows"
        : OperatingSystem.IsFreeBSD() ? "FreeBSD"
        : Environment.OSVersion.Platform.ToString();

    /// <summary>
    /// <c>loadavg</c>: the 1, 5 and 15 minute load averages from <c>/proc/loadavg</c>, rounded up to two places as Celery
    /// does (<c>ceil(l * 100) / 100</c>); zeros where the system does not say, as Celery on Windows.
    /// </summary>
    public static IReadOnlyList<double> LoadAverage(string path = "/proc/loadavg")
    {
        try
        {
            if (File.Exists(path))
            {
                var parts = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 3)
                {
                    var values = new double[3];
                    for (var i = 0; i < 3; i++)
                    {
                        if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return Zeros;
                        values[i] = Math.Ceiling(v * 100) / 100;
                    }
                    return values;
                }
            }
        }
        catch (IOException)
        {
            // Unreadable: the zeros below.
        }
        catch (UnauthorizedAccessException)
        {
            // Likewise.
        }
        return Zeros;
    }

    private static readonly double[] Zeros = [0.0, 0.0, 0.0];

    private static string ReadVersion()
    {
        var assembly = typeof(WorkerSoftware).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational)) return informational.Split('+')[0];
        return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }
}
