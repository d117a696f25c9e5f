using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Fennel.Logging;

/// <summary>
/// Writes log lines to a file (<c>--logfile</c>), appending, one line per entry, flushed per line so nothing is lost
/// when the process is killed. The path comes expanded (Celery's <c>%n</c>, <c>%h</c>, <c>%p</c>, <c>%i</c>, … by
/// <see cref="Worker.NodeNames.FormatPath"/>).
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, FileLogger> _loggers = new(StringComparer.Ordinal);

    public FileLoggerProvider(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, name => new FileLogger(this, name));

    public void Dispose()
    {
        lock (_gate) _writer.Dispose();
    }

    private void Write(string line)
    {
        lock (_gate) _writer.WriteLine(line);
    }

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss.fff} {logLevel.ToString().ToUpperInvariant()} {category}: {formatter(state, exception)}";
            provider.Write(exception is null ? line : line + Environment.NewLine + exception);
        }
    }
}
