namespace Fennel.IntegrationTests;

/// <summary>
/// Where Fennel.TestApp.dll is: next to the tests when it was copied there, else in its own project's output for the same
/// configuration and framework (the project reference builds it without copying it).
/// </summary>
internal static class TestAppLocation
{
    private const string FileName = "Fennel.TestApp.dll";

    public static string Path { get; } = Find();

    private static string Find()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var candidates = new List<string> { System.IO.Path.Combine(here.FullName, FileName) };
        // .../test/Fennel.IntegrationTests/bin/<Configuration>/<tfm>/
        var framework = here.Name;
        var configuration = here.Parent?.Name ?? "Debug";
        for (var folder = here; folder is not null; folder = folder.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "Fennel.slnx")))
            {
                candidates.Add(System.IO.Path.Combine(folder.FullName, "test", "Fennel.TestApp", "bin", configuration, framework, FileName));
                break;
            }
        }
        return candidates.FirstOrDefault(c => File.Exists(c) && File.Exists(System.IO.Path.ChangeExtension(c, ".runtimeconfig.json")))
            ?? throw new FileNotFoundException($"{FileName} was not found; build test/Fennel.IntegrationTests first. Looked at: {string.Join(", ", candidates)}");
    }
}
