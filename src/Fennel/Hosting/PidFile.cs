using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Fennel.Hosting;

/// <summary>
/// The worker's pid file (<c>--pidfile</c>): written when the worker starts, removed when it exits. It refuses to start
/// a second worker on the same file while the process it names runs, and replaces a stale one (its process is gone).
/// The file appears whole or not at all: the pid goes to a temporary file in the same folder, then is linked into place
/// (<see cref="File.Move(string, string, bool)"/> without overwrite), so a concurrent start loses instead of overwriting.
/// </summary>
internal sealed class PidFile : IDisposable
{
    private readonly ILogger _logger;
    private bool _removed;

    private PidFile(string path, int processId, ILogger logger)
    {
        Path = path;
        ProcessId = processId;
        _logger = logger;
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>The pid written in it (this process).</summary>
    public int ProcessId { get; }

    /// <summary>Writes this process's id to <paramref name="path"/>.</summary>
    /// <exception cref="PidFileException">Another live process owns the file, or it cannot be written.</exception>
    public static PidFile Create(string path, ILogger logger) => Create(path, Environment.ProcessId, IsRunning, logger);

    internal static PidFile Create(string path, int processId, Func<int, bool> isRunning, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            if (System.IO.Path.GetDirectoryName(full) is { Length: > 0 } folder) Directory.CreateDirectory(folder);
            for (var attempt = 0; ; attempt++)
            {
                if (File.Exists(full)) RemoveStale(full, processId, isRunning, logger);
                var temporary = $"{full}.{processId.ToString(CultureInfo.InvariantCulture)}.tmp";
                try
                {
                    using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
                    {
                        stream.Write(System.Text.Encoding.ASCII.GetBytes(processId.ToString(CultureInfo.InvariantCulture) + "\n"));
                        stream.Flush(flushToDisk: true);
                    }
                    File.Move(temporary, full, overwrite: false);
                    Log.PidFileWritten(logger, full, processId);
                    return new PidFile(full, processId, logger);
                }
                catch (IOException) when (File.Exists(full) && attempt < 3)
                {
                    // Another process wrote it first: look at whose it is.
                }
                finally
                {
                    if (File.Exists(temporary)) File.Delete(temporary); // gone after the move; left when the move failed
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PidFileException($"Cannot write the pid file {full}: {ex.Message}", ex);
        }
    }

    /// <summary>Removes the file if it still holds this process's id.</summary>
    public void Dispose()
    {
        if (_removed) return;
        _removed = true;
        try
        {
            if (ReadPid(Path) == ProcessId) File.Delete(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.PidFileNotRemoved(_logger, Path, ex);
        }
    }

    private static void RemoveStale(string path, int processId, Func<int, bool> isRunning, ILogger logger)
    {
        var pid = ReadPid(path);
        // Our own pid in the file is stale too: in a container the worker is often pid 1 at every start.
        if (pid is { } owner && owner != processId && isRunning(owner))
        {
            throw new PidFileException($"The pid file {path} names process {owner}, which is running: is this worker running already? " +
                "Stop that worker first, or give this one another --pidfile; if that process is no worker, remove the file.");
        }
        Log.PidFileStale(logger, path, pid is { } p ? "process " + p.ToString(CultureInfo.InvariantCulture) : "no process id", processId);
        File.Delete(path);
    }

    private static int? ReadPid(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

/// <summary>The pid file names a running process, or cannot be written.</summary>
internal sealed class PidFileException(string message, Exception? innerException = null) : Exception(message, innerException);
