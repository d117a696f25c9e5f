using Microsoft.Data.Sqlite;

namespace Fennel.Sqlite.Tests;

/// <summary>A folder for a test class's database files, deleted with everything in it afterwards.</summary>
public sealed class TemporaryFolder : IDisposable
{
    /// <summary>The folder's full path.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fennel-sqlite-tests-{Guid.NewGuid():N}");

    /// <summary>The file every test of the class shares (tests use queues and task ids of their own).</summary>
    public string SharedDatabase => System.IO.Path.Combine(Path, "shared.db");

    /// <summary>A path for a database file of its own, in a folder that does not exist yet.</summary>
    public string NewDatabasePath() => System.IO.Path.Combine(Path, Guid.NewGuid().ToString("N"), "fennel.db");

    /// <summary>Options for <paramref name="path"/>.</summary>
    public static SqliteOptions OptionsFor(string path) => new() { Path = path };

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
