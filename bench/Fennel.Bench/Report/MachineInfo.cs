using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Fennel.Bench.Report;

/// <summary>What the figures were measured on and with: the report's machine line.</summary>
internal sealed record MachineInfo(int Cores, string CpuModel, double MemoryGiB, string Os, string Dotnet, string Broker, string Celery,
    string Fennel, DateTimeOffset Date)
{
    public static MachineInfo Collect(string broker, JsonObject? celeryVersions, string? commit, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var celery = celeryVersions is null
            ? "not measured"
            : $"{celeryVersions["celery"]} (kombu {celeryVersions["kombu"]}, redis-py {celeryVersions["redis_py"]}, py-amqp {celeryVersions["amqp"]}, Python {celeryVersions["python"]})";
        var version = typeof(FennelApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0) version = version[..plus];
        return new MachineInfo(Environment.ProcessorCount, ReadCpuModel(), ReadMemoryGiB(), RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription, broker, celery, commit is null ? version : $"{version} (commit {commit})", time.GetUtcNow());
    }

    public string Line => string.Create(CultureInfo.InvariantCulture,
        $"{Cores} cores ({CpuModel}), {MemoryGiB:0} GiB RAM, {Os}; {Broker}; {Dotnet}; Celery {Celery}; Fennel {Fennel}");

    private static string ReadCpuModel() => ReadField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();

    private static double ReadMemoryGiB() =>
        ReadField("/proc/meminfo", "MemTotal") is { } total && long.TryParse(total.Split(' ')[0], CultureInfo.InvariantCulture, out var kib)
            ? kib / 1024.0 / 1024.0
            : 0;

    private static string? ReadField(string path, string name)
    {
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim() == name) return line[(colon + 1)..].Trim();
        }
        return null;
    }
}
