using Microsoft.Data.Sqlite;

namespace Fennel.Dashboard.Tests;

/// <summary>A folder for a test class's history files, deleted with everything in it afterwards.</summary>
public sealed class TemporaryFolder : IDisposable
{
    /// <summary>The folder's full path.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fennel-dashboard-tests-{Guid.NewGuid():N}");

    /// <summary>A path for a history file of its own, in a folder that does not exist yet.</summary>
    public string NewDatabasePath() => System.IO.Path.Combine(Path, Guid.NewGuid().ToString("N"), "history.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
