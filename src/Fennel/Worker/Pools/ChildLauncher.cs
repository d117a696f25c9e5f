using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Reflection;

namespace Fennel.Worker.Pools;

/// <summary>
/// Starts the process pool's children and connects them: the same app run again (<see cref="Environment.ProcessPath"/>,
/// plus the entry assembly when it runs as <c>dotnet app.dll</c>) with the same arguments and
/// <see cref="ProcessPoolChild.EnvironmentVariable"/> set, which makes <c>app.RunAsync(args)</c> run the child loop instead
/// of a command. Each child connects back to a Unix domain socket in a folder only this user can open, and proves who it is
/// with the nonce it was given.
/// </summary>
/// <remarks>
/// Children are started from one thread that lives as long as the pool: Linux's parent-death signal
/// (<c>PR_SET_PDEATHSIG</c>, which the child sets) fires when the forking <em>thread</em> exits, and a thread-pool thread may
/// exit whenever it idles. Children inherit stdout and stderr, so their logs land where the parent's go.
/// </remarks>
internal sealed class ChildLauncher : IDisposable
{
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);
    private readonly DirectoryInfo _folder;
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Socket>> _expected = new(StringComparer.Ordinal);
    private readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> _spawns = new();
    private readonly Thread _spawner;
    private readonly CancellationTokenSource _closing = new();
    private readonly (string FileName, IReadOnlyList<string> Arguments) _command;

    public ChildLauncher((string FileName, IReadOnlyList<string> Arguments)? command = null)
    {
        _command = command ?? CurrentAppCommand();
        RemoveFoldersOfDeadParents();
        // 0700 on Unix: other users cannot connect. The pid in the name lets a later pool remove it if this one is killed.
        _folder = Directory.CreateTempSubdirectory(string.Create(CultureInfo.InvariantCulture, $"{FolderPrefix}{Environment.ProcessId}-"));
        SocketPath = Path.Combine(_folder.FullName, "pool.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(64);
        _ = AcceptAsync();
        _spawner = new Thread(Spawn) { IsBackground = true, Name = "fennel process pool spawner" };
        _spawner.Start();
    }

    private const string FolderPrefix = "fennel-pool-";

    public string SocketPath { get; }

    /// <summary>
    /// A worker killed with -9 cannot remove its socket folder: the next pool on the machine removes the folders whose
    /// process is gone (Linux, where /proc says so; elsewhere they stay for the temporary folder's own cleaning).
    /// </summary>
    private static void RemoveFoldersOfDeadParents()
    {
        if (!Directory.Exists("/proc/self")) return;
        try
        {
            foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
            {
                var name = Path.GetFileName(folder).AsSpan(FolderPrefix.Length);
                var dash = name.IndexOf('-');
                if (dash <= 0 || !int.TryParse(name[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
                if (Directory.Exists($"/proc/{pid}")) continue;
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Another user's, or going away meanwhile: not ours to insist on.
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The temporary folder cannot be listed: nothing to tidy.
        }
    }

    /// <summary>How this app was started: what a child runs.</summary>
    public static (string FileName, IReadOnlyList<string> Arguments) CurrentAppCommand()
    {
        var processPath = Environment.ProcessPath
            ?? throw new FennelConfigurationException("The process pool cannot find the path of this process (Environment.ProcessPath is null) to start its children.");
        string[] args = Environment.GetCommandLineArgs();
        var rest = args.Length > 1 ? args[1..] : [];
        if (!Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return (processPath, rest);
        var entry = Assembly.GetEntryAssembly()?.Location;
        if (string.IsNullOrEmpty(entry))
        {
            throw new FennelConfigurationException("The process pool runs this app again for each child, but the app's entry assembly has no path " +
                "(single-file or in-memory). Publish the app as a normal executable, or use -P threads.");
        }
        return (processPath, [entry, .. rest]);
    }

    /// <summary>Starts a child with pool process index <paramref name="index"/> and waits until it connected (or failed to).</summary>
    /// <exception cref="FennelException">The child exited, or did not connect within <paramref name="timeout"/>.</exception>
    public async Task<(Process Process, Socket Socket)> LaunchAsync(int index, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var nonce = Guid.NewGuid().ToString("N");
        var connected = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        _expected[nonce] = connected;
        try
        {
            var info = new ProcessStartInfo(_command.FileName) { UseShellExecute = false };
            foreach (var argument in _command.Arguments) info.ArgumentList.Add(argument);
            info.Environment[ProcessPoolChild.EnvironmentVariable] =
                string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}:{nonce}:{SocketPath}");
            info.Environment[ProcessPoolChild.IndexVariable] = index.ToString(CultureInfo.InvariantCulture);
            var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
            _spawns.Add((info, started), cancellationToken);
            var process = await started.Task.ConfigureAwait(false);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
            deadline.CancelAfter(timeout);
            var exited = process.WaitForExitAsync(deadline.Token);
            try
            {
                var first = await Task.WhenAny(connected.Task, exited).ConfigureAwait(false);
                if (first == connected.Task) return (process, await connected.Task.ConfigureAwait(false));
                await exited.ConfigureAwait(false); // throws when the deadline passed
                throw new FennelException($"Child process {process.Id} ({_command.FileName}) exited with {ProcessPoolProtocol.DescribeExit(process.ExitCode)} " +
                    "before connecting to the pool. The process pool runs the app again with the same arguments: the app must hand its " +
                    "command line to app.RunAsync(args) (Fennel.Cli), which runs the child loop. Its own output (above) may say more.");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Kill(process);
                throw new FennelException($"Child process {process.Id} did not connect to the pool within {timeout.TotalSeconds:0} s; it was killed. " +
                    "Does the app hand its command line to app.RunAsync(args) (Fennel.Cli)?");
            }
            catch
            {
                Kill(process);
                throw;
            }
        }
        finally
        {
            _expected.TryRemove(nonce, out _);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void Spawn()
    {
        foreach (var (info, started) in _spawns.GetConsumingEnumerable())
        {
            try
            {
                var process = Process.Start(info) ?? throw new FennelException($"Could not start {info.FileName}.");
                started.SetResult(process);
            }
            catch (Exception ex)
            {
                started.SetException(new FennelException($"Could not start a child process ({info.FileName}): {ex.Message}", ex));
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (!_closing.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_closing.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return; // closing
            }
            _ = HelloAsync(socket);
        }
    }

    /// <summary>Reads a new connection's <c>ready</c> frame and hands it to the launch that expects its nonce.</summary>
    private async Task HelloAsync(Socket socket)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
            timeout.CancelAfter(HelloTimeout);
            var frame = await ProcessPoolProtocol.ReadFrameAsync(new NetworkStream(socket, ownsSocket: false), timeout.Token).ConfigureAwait(false);
            if (frame is not null && _expected.TryGetValue(ProcessPoolProtocol.ReadReady(frame).Nonce, out var launch) && launch.TrySetResult(socket)) return;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidDataException or SocketException)
        {
            // Not one of ours, or too slow: closed below.
        }
        socket.Dispose();
    }

    public void Dispose()
    {
        _closing.Cancel();
        _spawns.CompleteAdding();
        _listener.Dispose();
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary folder.
        }
    }
}
