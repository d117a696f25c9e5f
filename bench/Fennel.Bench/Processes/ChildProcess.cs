using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Fennel.Bench.Processes;

/// <summary>
/// A process the benchmark started (a worker, redis-server, the Python client): its output captured line by line, a wait
/// for a given line, a warm stop by SIGTERM, and a kill of its whole tree on dispose, so nothing outlives the run.
/// </summary>
internal sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<string> _stdout = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Seen)> _waiters = [];
    private readonly Lock _gate = new();

    private ChildProcess(string name, Process process, DateTimeOffset startedAt)
    {
        Name = name;
        _process = process;
        StartedAt = startedAt;
    }

    /// <summary>What the run calls it in messages: "Fennel worker -c 8".</summary>
    public string Name { get; }

    public int Id => _process.Id;

    /// <summary>The wall-clock time just before the process was started.</summary>
    public DateTimeOffset StartedAt { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Standard output and standard error, interleaved in arrival order.</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) return [.. _lines]; }
    }

    /// <summary>Standard output only, for commands that print a result there.</summary>
    public IReadOnlyList<string> Stdout
    {
        get { lock (_gate) return [.. _stdout]; }
    }

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        // Only what the run sets: FENNEL_* or BENCH_* variables of the calling shell must not change what is measured.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("FENNEL_", StringComparison.OrdinalIgnoreCase) ||
                     k.StartsWith("BENCH_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, DateTimeOffset.UtcNow);
        process.OutputDataReceived += (_, e) => child.Append(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data, stdout: false);
        if (!process.Start()) throw new InvalidOperationException($"Could not start {name} ({fileName}).");
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until the process prints a line that matches; throws if it exits or the time runs out first.</summary>
    public async Task WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_lines.Any(match)) return;
            _waiters.Add((match, seen));
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var exited = _process.WaitForExitAsync(deadline.Token);
        try
        {
            await Task.WhenAny(seen.Task, exited).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{Name} did not print the expected line within {timeout.TotalSeconds:0} s.\n{Describe()}");
        }
        if (!seen.Task.IsCompleted) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was ready.\n{Describe()}");
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds:0} s.\n{Describe()}");
        }
        return _process.ExitCode;
    }

    /// <summary>
    /// Stops it warm with SIGTERM (as a supervisor would) and waits; kills the whole tree when it is still running after
    /// <paramref name="timeout"/>. Returns the exit code, or null when it had to be killed.
    /// </summary>
    public async Task<int?> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited) return _process.ExitCode;
        if (NativeMethods.Kill(_process.Id, SigTerm) != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Kill();
            return null;
        }
    }

    /// <summary>The last lines it printed, for error messages.</summary>
    public string Describe(int lastLines = 40)
    {
        var state = _process.HasExited ? $"exited with {_process.ExitCode}" : "running";
        var lines = Lines;
        var shown = string.Join('\n', lines.Skip(Math.Max(0, lines.Count - lastLines)));
        return $"--- {Name} (pid {_process.Id}, {state}), last {Math.Min(lastLines, lines.Count)} lines ---\n{shown}\n--- end of {Name} ---";
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    private void Append(string? line, bool stdout)
    {
        if (line is null) return;
        lock (_gate)
        {
            _lines.Add(line);
            if (stdout) _stdout.Add(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (!_waiters[i].Match(line)) continue;
                _waiters[i].Seen.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int signal);
    }
}
