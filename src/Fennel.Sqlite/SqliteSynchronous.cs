namespace Fennel.Sqlite;

/// <summary>How hard SQLite works to keep a commit through a crash (its <c>PRAGMA synchronous</c>).</summary>
public enum SqliteSynchronous
{
    /// <summary>Commits survive a crash of the process; the last ones may be lost on a power loss. Fast with WAL.</summary>
    Normal,

    /// <summary>Commits survive a power loss too: an fsync on every commit.</summary>
    Full,
}
