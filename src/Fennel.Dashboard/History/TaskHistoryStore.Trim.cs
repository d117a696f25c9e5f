namespace Fennel.Dashboard.History;

public sealed partial class TaskHistoryStore
{
    /// <summary>Rows deleted per transaction, so a large trim never holds the write lock (and the readers' WAL) for long.</summary>
    private const int TrimChunk = 5_000;

    /// <summary>Deletes tasks older than MaxAge or beyond MaxTasks (least recently updated first), old throughput rows and long-offline workers.</summary>
    private async Task TrimNowAsync()
    {
        var cutoff = (_time.GetUtcNow() - _options.MaxAge).ToUnixTimeMilliseconds();
        var tasks = 0;
        int deleted;
        // Both deletes walk tasks_by_update from the oldest end; the trigger removes each task's timeline by key.
        do
        {
            deleted = await DeleteAsync($"DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks WHERE last_updated < {cutoff} ORDER BY last_updated LIMIT {TrimChunk});").ConfigureAwait(false);
            tasks += deleted;
        } while (deleted == TrimChunk);
        do
        {
            deleted = await DeleteAsync($"""
                DELETE FROM tasks WHERE rowid IN (
                    SELECT rowid FROM tasks ORDER BY last_updated
                    LIMIT min({TrimChunk}, max(0, (SELECT count(*) FROM tasks) - {_options.MaxTasks})));
                """).ConfigureAwait(false);
            tasks += deleted;
        } while (deleted == TrimChunk);
        var buckets = await DeleteAsync($"DELETE FROM throughput WHERE minute < {cutoff};").ConfigureAwait(false);
        var workers = await DeleteAsync($"DELETE FROM workers WHERE last_updated < {cutoff};").ConfigureAwait(false);
        if (tasks + buckets + workers > 0) HistoryLog.Trimmed(_logger, tasks, workers, buckets, _options.Path);
    }

    private async Task<int> DeleteAsync(string sql)
    {
        using var transaction = _writer.BeginTransaction(deferred: false);
        using var command = Command(sql, transaction);
        var count = await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        await transaction.CommitAsync().ConfigureAwait(false);
        return count;
    }
}
