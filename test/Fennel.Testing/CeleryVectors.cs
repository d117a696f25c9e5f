using System.Text.Json.Nodes;

namespace Fennel.Testing;

/// <summary>
/// The captured Celery 5.2.6 messages kept in the repository at <c>test/vectors/celery-5.2.6</c>, found from the test's
/// folder upwards. Missing vectors fail the tests: they are the contract.
/// </summary>
public static class CeleryVectors
{
    /// <summary>Where the vectors live, relative to the repository's root.</summary>
    public const string RepositoryPath = "test/vectors/celery-5.2.6";

    /// <summary>The vectors' folder.</summary>
    public static string Root { get; } = Find();

    /// <summary>The JSON files of one sub-folder, in a stable order.</summary>
    public static IEnumerable<string> Files(string folder) =>
        Directory.EnumerateFiles(Path.Combine(Root, folder), "*.json").Order(StringComparer.Ordinal);

    /// <summary>One vector file.</summary>
    public static JsonObject Load(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RepositoryPath);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"The Celery protocol vectors ({RepositoryPath}) were not found in any folder above " +
            AppContext.BaseDirectory + "; run the tests from a clone of the repository.");
    }
}
