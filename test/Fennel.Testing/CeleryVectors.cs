using System.Text.Json.Nodes;

namespace Fennel.Testing;

/// <summary>
/// The captured Celery 5.2.6 messages in ../shared/celery-protocol, found from the test's folder upwards
/// (FENNEL_CELERY_VECTORS overrides). Missing vectors fail the tests: they are the contract.
/// </summary>
public static class CeleryVectors
{
    /// <summary>The vectors' folder.</summary>
    public static string Root { get; } = Find();

    /// <summary>The JSON files of one sub-folder, in a stable order.</summary>
    public static IEnumerable<string> Files(string folder) =>
        Directory.EnumerateFiles(Path.Combine(Root, folder), "*.json").Order(StringComparer.Ordinal);

    /// <summary>One vector file.</summary>
    public static JsonObject Load(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("FENNEL_CELERY_VECTORS") is { Length: > 0 } configured) return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "celery-protocol");
            if (Directory.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir.FullName, "..", "shared", "celery-protocol");
            if (Directory.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new DirectoryNotFoundException("The Celery protocol vectors (shared/celery-protocol) were not found above " + AppContext.BaseDirectory +
            "; set FENNEL_CELERY_VECTORS to their folder.");
    }
}
