using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Fennel.IntegrationTests;

/// <summary>
/// A process a test started: its stdout and stderr captured line by line (for assertions and failure messages), POSIX
/// signals, and a kill in <see cref="Dispose"/> so nothing outlives the test, pass or fail.
/// </summary>
internal sealed partial class ChildProcess : IDisposable
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly Lock _gate = new();

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>What the test calls it in messages: "worker A", "producer".</summary>
    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stdout
    {
        get { lock (_gate) return string.Join('\n', _stdout); }
    }

    public string Stderr
    {
        get { lock (_gate) return string.Join('\n', _stderr); }
    }

    public IReadOnlyList<string> StderrLines
    {
        get { lock (_gate) return [.. _stderr]; }
    }

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        // Only what the test sets: a FENNEL_* variable of the machine running the tests must not leak in.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("FENNEL_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (key, value) in environment) info.Environment[key] = value;

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => child.Append(child._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(child._stderr, e.Data);
        process.Start();
        process.StandardInput.Close(); // nothing to read: a command that would prompt sees end of input
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Sends a POSIX signal (<see cref="SigTerm"/>, <see cref="SigKill"/>) to the process.</summary>
    public void Signal(int signal)
    {
        if (NativeMethods.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.\n{Describe()}");
        }
    }

    /// <summary>Waits for the process to exit (and its output to be read) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds:0} s.\n{Describe()}");
        }
        return _process.ExitCode;
    }

    /// <summary>Everything it printed so far, for assertion messages.</summary>
    public string Describe()
    {
        var state = _process.HasExited ? $"exited with {_process.ExitCode}" : "running";
        return $"--- {Name} (pid {_process.Id}, {state}) stdout ---\n{Stdout}\n--- {Name} stderr ---\n{Stderr}\n--- end of {Name} ---";
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
        _process.Dispose();
    }

    private void Append(List<string> lines, string? line)
    {
        if (line is null) return;
        lock (_gate) lines.Add(line);
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int signal);
    }
}
