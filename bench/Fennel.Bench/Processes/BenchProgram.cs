namespace Fennel.Bench.Processes;

/// <summary>How to start this program again as a child process: its apphost, or <c>dotnet</c> with its assembly.</summary>
internal static class BenchProgram
{
    public static (string FileName, IReadOnlyList<string> Arguments) Command(params IEnumerable<string> arguments)
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this process is unknown.");
        return Path.GetFileNameWithoutExtension(path) == "dotnet"
            ? (path, [typeof(BenchProgram).Assembly.Location, .. arguments])
            : (path, [.. arguments]);
    }
}
