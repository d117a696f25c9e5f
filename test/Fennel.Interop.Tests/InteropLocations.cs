namespace Fennel.Interop.Tests;

/// <summary>
/// Where the two sides are: the Interop sample's Interop.dll (run as <c>dotnet Interop.dll worker ...</c>), the Python
/// folder copied next to the tests, and the Python with Celery (Debian's <c>/usr/bin/python3</c>).
/// </summary>
internal static class InteropLocations
{
    private const string SampleFileName = "Interop.dll";

    /// <summary>
    /// The interpreter that has Celery: <c>/usr/bin/python3</c> (Debian's python3-celery, which scripts/test.sh installs),
    /// or FENNEL_TEST_PYTHON. A python3 found on PATH may be another build without Celery.
    /// </summary>
    public static string Python { get; } = Environment.GetEnvironmentVariable("FENNEL_TEST_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3";

    /// <summary>The folder with interop_tasks.py (the Celery app) and send_tasks.py (the client).</summary>
    public static string PythonFolder { get; } = FindPythonFolder();

    /// <summary>The Interop sample, built by this project's reference to it.</summary>
    public static string SampleDll { get; } = FindSample();

    /// <summary>The <c>fennel</c> tool (src/Fennel.Cli), built by this project's reference to it.</summary>
    public static string FennelToolDll { get; } = FindBuilt("Fennel.Cli.dll", Path.Combine("src", "Fennel.Cli"));

    private static string FindPythonFolder()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "python");
        return File.Exists(Path.Combine(folder, "interop_tasks.py"))
            ? folder
            : throw new DirectoryNotFoundException($"{folder} has no interop_tasks.py; build test/Fennel.Interop.Tests, which copies python/*.py there.");
    }

    private static string FindSample() => FindBuilt(SampleFileName, Path.Combine("samples", "Interop"));

    private static string FindBuilt(string fileName, string projectFolder)
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var candidates = new List<string> { Path.Combine(here.FullName, fileName) };
        // .../test/Fennel.Interop.Tests/bin/<Configuration>/<tfm>/
        var framework = here.Name;
        var configuration = here.Parent?.Name ?? "Debug";
        for (var folder = here; folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Fennel.slnx")))
            {
                candidates.Add(Path.Combine(folder.FullName, projectFolder, "bin", configuration, framework, fileName));
                break;
            }
        }
        return candidates.FirstOrDefault(c => File.Exists(c) && File.Exists(Path.ChangeExtension(c, ".runtimeconfig.json")))
            ?? throw new FileNotFoundException($"{fileName} was not found; build test/Fennel.Interop.Tests first. Looked at: {string.Join(", ", candidates)}");
    }
}
