using Microsoft.Data.Sqlite;

namespace Fennel.Testing;

/// <summary>
/// A folder of its own under the system's temporary folder, for a test (class) that writes files: databases, pid files,
/// configuration. It is deleted, with everything in it, on <see cref="Dispose"/>; an xUnit class fixture as it is.
/// </summary>
public sealed class TemporaryFolder : IDisposable
{
    /// <summary>The folder's full path; it exists from construction.</summary>
    public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fennel-tests-{Guid.NewGuid():N}")).FullName;

    /// <summary>The path of <paramref name="name"/> directly in the folder; the same path every call.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>A path for a file of its own, named <paramref name="name"/>, in a sub-folder that does not exist yet.</summary>
    public string NewFilePath(string name) => System.IO.Path.Combine(Path, Guid.NewGuid().ToString("N"), name);

    /// <summary>Deletes the folder. SQLite's pooled connections are closed first, so that no file in it stays open.</summary>
    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
