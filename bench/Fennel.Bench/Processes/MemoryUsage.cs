using System.Globalization;

namespace Fennel.Bench.Processes;

/// <summary>The memory of a worker: every process of it (one, or a prefork main process and its children).</summary>
/// <param name="RssKiB">VmRSS summed over the processes (pages shared between them are counted once per process).</param>
/// <param name="PssKiB">Pss summed: shared pages split between the processes that share them, so nothing is counted twice.</param>
/// <param name="Processes">How many processes.</param>
internal sealed record MemoryUsage(long RssKiB, long PssKiB, int Processes)
{
    public double RssMiB => RssKiB / 1024.0;

    public double PssMiB => PssKiB / 1024.0;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"RSS {RssMiB:0.0} MiB (PSS {PssMiB:0.0} MiB, {Processes} process{(Processes == 1 ? "" : "es")})");
}
