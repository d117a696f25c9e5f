using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Fennel.Worker.Pools;

/// <summary>
/// The parent's handle on one child process of the <see cref="ProcessPool"/>: its process, its socket, and a reader that
/// notices at once when the child is gone (busy or idle). One task at a time: the pool hands a child to one run.
/// </summary>
internal sealed class PoolChild(int generation, string why, int index)
{
    private readonly TaskCompletionSource _gone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private TaskCompletionSource<JsonObject>? _reply;
    private Process? _process;
    private Task<int?>? _exited;
    private Socket? _socket;
    private NetworkStream? _stream;

    /// <summary>The pool's generation it belongs to (a restart starts a new one).</summary>
    public int Generation { get; } = generation;

    /// <summary>Its pool process index (Celery's <c>%i</c>): 1 to concurrency, the lowest free when it started.</summary>
    public int Index { get; } = index;

    /// <summary>Why it was started: initial, replacing a child, grown, restarted.</summary>
    public string Why { get; } = why;

    public int Pid { get; private set; }

    /// <summary>Tasks it ran to an answer.</summary>
    public int TasksRun { get; set; }

    /// <summary>Where it is; changed under the pool's lock.</summary>
    public ChildState State { get; set; } = ChildState.Starting;

    /// <summary>True while it counts towards the pool's concurrency; changed under the pool's lock.</summary>
    public bool Counted { get; set; } = true;

    /// <summary>The pool's run it serves now; changed under the pool's lock.</summary>
    public object? Run { get; set; }

    /// <summary>The task it runs now, for log lines (name, id).</summary>
    public (string Name, string Id)? Task { get; set; }

    /// <summary>Why the pool ended it (max tasks, max memory, killed at the hard limit, ...); null when it died on its own.</summary>
    public string? EndReason { get; private set; }

    /// <summary>True when the pool killed it while it ran a task (hard limit, terminate, cold shutdown).</summary>
    public bool KilledByPool { get; private set; }

    /// <summary>Completes when it connected and said it is ready; fails when it could not start.</summary>
    public TaskCompletionSource Ready { get; } = NewReady();

    /// <summary>Completes when its connection ended (it exited, was killed, or was closed).</summary>
    public Task Gone => _gone.Task;

    private static TaskCompletionSource NewReady()
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A start failure is logged by the pool; not every child's readiness is awaited.
        ready.Task.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return ready;
    }

    public void Attach(Process process, Socket socket)
    {
        _process = process;
        Pid = process.Id;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _ = ReadAsync();
    }

    /// <summary>Sends a task and waits for the answer.</summary>
    /// <exception cref="ChildLostException">The child's connection ended before it answered.</exception>
    public async Task<JsonObject> RunAsync(JsonObject request)
    {
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_gone.Task.IsCompleted) throw new ChildLostException();
            _reply = reply;
        }
        try
        {
            await ProcessPoolProtocol.WriteFrameAsync(_stream!, request).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Close(null);
            throw new ChildLostException();
        }
        return await reply.Task.ConfigureAwait(false);
    }

    /// <summary>Ends it gracefully: it sees end of file and exits (after its current task, which the pool waited for).</summary>
    public void Close(string? reason)
    {
        lock (_gate) EndReason ??= reason;
        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
        _stream?.Dispose();
    }

    /// <summary>SIGKILL: for a task past its hard limit, terminated, or interrupted by a cold shutdown.</summary>
    public void Kill(string reason, bool whileRunning)
    {
        lock (_gate)
        {
            // A more precise reason (the hard limit, terminate) replaces the generic "stopped" one.
            if (EndReason is null || EndReason == ProcessPool.StoppedReason) EndReason = reason;
            KilledByPool |= whileRunning;
        }
        try
        {
            _process?.Kill();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
        Close(reason);
    }

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>, then kills it) for the process to exit, and returns its exit code; every
    /// caller shares one wait, and the process handle is released after it.
    /// </summary>
    public Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        lock (_gate) return _exited ??= WaitOnceAsync(timeout);
    }

    private async Task<int?> WaitOnceAsync(TimeSpan timeout)
    {
        if (_process is not { } process) return null;
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(EndReason ?? "did not exit after its connection closed", whileRunning: false);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        var code = process.ExitCode;
        process.Dispose();
        return code;
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await ProcessPoolProtocol.ReadFrameAsync(_stream!).ConfigureAwait(false) is { } frame)
            {
                TaskCompletionSource<JsonObject>? reply;
                lock (_gate)
                {
                    reply = _reply;
                    _reply = null;
                }
                if (reply is null || ProcessPoolProtocol.TypeOf(frame) != "outcome")
                {
                    ProtocolError = $"unexpected '{ProcessPoolProtocol.TypeOf(frame)}' frame";
                    Kill("broke the protocol", whileRunning: false);
                    break;
                }
                reply.TrySetResult(frame);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidDataException)
        {
            if (ex is InvalidDataException)
            {
                ProtocolError = ex.Message;
                Kill("broke the protocol", whileRunning: false);
            }
        }
        lock (_gate)
        {
            _reply?.TrySetException(new ChildLostException());
            _reply = null;
            _gone.TrySetResult();
        }
        _stream?.Dispose();
    }

    /// <summary>What was wrong with what it sent, when it broke the protocol.</summary>
    public string? ProtocolError { get; private set; }
}

/// <summary>Where a child is in its life.</summary>
internal enum ChildState
{
    Starting,
    Idle,
    Busy,
    Gone,
}

/// <summary>A child's connection ended before it answered.</summary>
internal sealed class ChildLostException() : Exception("The child process's connection ended before it answered.");
