using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker.Pools;

/// <summary>
/// The loop a process pool child runs instead of a command: <c>app.RunAsync(args)</c> (Fennel.Cli) sees
/// <see cref="EnvironmentVariable"/> and comes here. It connects to the parent's socket, then runs one task at a time with
/// its own <see cref="TaskInvocation"/> (the same code the in-process pools run) on the message the parent decoded, and
/// sends the outcome back with its resident memory.
/// </summary>
/// <remarks>
/// A child never outlives its parent: the end of file on its socket (the parent closed it, or died, even by kill -9) ends
/// it at once, whatever its task is doing; on Linux the kernel also SIGKILLs it when the parent dies
/// (<c>PR_SET_PDEATHSIG</c>). It ignores SIGTERM, SIGINT and SIGQUIT: a supervisor that signals the whole process group
/// (Supervisor's <c>stopasgroup</c>, Ctrl+C in a terminal) reaches the parent too, and the parent decides how the
/// children stop (warm: their tasks finish; cold: they are killed).
/// </remarks>
internal static class ProcessPoolChild
{
    /// <summary>
    /// Set by the parent for its children: <c>parentPid:nonce:socketPath</c>. It does not start with <c>FENNEL_</c>, so the
    /// configuration never reads it; the child removes it at once, so processes a task starts do not inherit it.
    /// </summary>
    public const string EnvironmentVariable = "__FENNEL_POOL_CHILD";

    /// <summary>
    /// Set by the parent for its children: the child's pool process index, 1 to concurrency (a replacement reuses the
    /// index of the child it replaces), Celery's <c>%i</c> in <c>--logfile</c> and <c>--pidfile</c>. Removed with the other.
    /// </summary>
    public const string IndexVariable = "__FENNEL_POOL_CHILD_INDEX";

    /// <summary>This process's pool process index: 0 in a worker (or any process that is not a child), 1… in children.</summary>
    public static int ProcessIndex =>
        int.TryParse(Environment.GetEnvironmentVariable(IndexVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : 0;

    private static readonly TimeSpan ExitWatchdog = TimeSpan.FromSeconds(3);

    /// <summary>True in a process the process pool started as a child.</summary>
    public static bool IsChild => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>Runs tasks for the parent until it closes the connection; returns the exit code.</summary>
    public static async Task<int> RunAsync(FennelApp app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.LoggerFactory.CreateLogger("Fennel.Worker.ProcessPool");
        var spec = Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "";
        Environment.SetEnvironmentVariable(EnvironmentVariable, null);
        Environment.SetEnvironmentVariable(IndexVariable, null);
        var parts = spec.Split(':', 3);
        if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parentPid))
        {
            Log.ChildConnectionFailed(logger, Environment.ProcessId, $"{EnvironmentVariable} is '{spec}', not 'parentPid:nonce:socketPath'", null);
            return 70;
        }
        ProcessPoolNative.DieWithParent();
        if (OperatingSystem.IsLinux() && ProcessPoolNative.ParentProcessId() != parentPid) return 70; // the parent died before we could ask

        // Held for the life of the process: the parent orchestrates shutdown.
        PosixSignalRegistration[] ignored =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => c.Cancel = true),
        ];

        Socket socket;
        NetworkStream stream;
        try
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(parts[2])).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            ProcessPoolProtocol.WriteFrame(stream, ProcessPoolProtocol.Ready(parts[1], Environment.ProcessId));
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            Log.ChildConnectionFailed(logger, Environment.ProcessId, ex.Message, ex);
            return 70;
        }
        Log.ChildReady(logger, Environment.ProcessId, parentPid);

        var loop = new Loop(app, stream, logger);
        var reader = new Thread(loop.Read) { IsBackground = true, Name = "fennel pool child reader" };
        reader.Start();
        var code = await loop.Done.ConfigureAwait(false);
        // The parent closed the connection while we were idle: exit normally (logs flushed by the app's disposal), but never hang.
        new Thread(() =>
        {
            Thread.Sleep(ExitWatchdog);
            ProcessPoolNative.ExitNow(code);
        }) { IsBackground = true, Name = "fennel pool child exit watchdog" }.Start();
        GC.KeepAlive(ignored);
        return code;
    }

    /// <summary>Reads the parent's frames on a thread of its own (so a task spinning on every thread-pool thread cannot delay the end of file).</summary>
    private sealed class Loop(FennelApp app, NetworkStream stream, ILogger logger)
    {
        private readonly TaskCompletionSource<int> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _gate = new();
        private TaskInvocation? _invocation;
        private string? _running; // the task id running now

        public Task<int> Done => _done.Task;

        public void Read()
        {
            while (true)
            {
                JsonObject? frame;
                try
                {
                    frame = ProcessPoolProtocol.ReadFrame(stream);
                }
                catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or ObjectDisposedException)
                {
                    Log.ChildConnectionFailed(logger, Environment.ProcessId, ex.Message, ex);
                    ProcessPoolNative.ExitNow(70);
                    return;
                }
                if (frame is null)
                {
                    string? running;
                    lock (_gate) running = _running;
                    if (running is not null)
                    {
                        Log.ChildParentGone(logger, Environment.ProcessId, running);
                        ProcessPoolNative.ExitNow(1);
                    }
                    _done.TrySetResult(0);
                    return;
                }
                ProcessPoolProtocol.RunRequest request;
                try
                {
                    request = ProcessPoolProtocol.ReadRun(frame);
                }
                catch (InvalidDataException ex)
                {
                    Log.ChildConnectionFailed(logger, Environment.ProcessId, ex.Message, ex);
                    ProcessPoolNative.ExitNow(70);
                    return;
                }
                _ = Task.Run(() => RunAsync(request));
            }
        }

        private async Task RunAsync(ProcessPoolProtocol.RunRequest request)
        {
            JsonObject answer;
            try
            {
                answer = ProcessPoolProtocol.Outcome(await InvokeAsync(request).ConfigureAwait(false), Environment.WorkingSet);
            }
            catch (InvalidDataException ex)
            {
                // A result too big for a frame: say so as the task's failure rather than losing the child.
                answer = ProcessPoolProtocol.Outcome(new TaskOutcome.Failed(RemoteException.From(ex), ex, 0), Environment.WorkingSet);
            }
            finally
            {
                lock (_gate) _running = null;
            }
            try
            {
                lock (_gate) ProcessPoolProtocol.WriteFrame(stream, answer);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                Log.ChildConnectionFailed(logger, Environment.ProcessId, ex.Message, ex);
                ProcessPoolNative.ExitNow(70);
            }
        }

        /// <summary>Binds the message the parent decoded, as the dispatcher did, and runs it through the invocation.</summary>
        private async Task<TaskOutcome> InvokeAsync(ProcessPoolProtocol.RunRequest request)
        {
            var message = request.Message;
            lock (_gate) _running = message.Id;
            // The parent checked both with the same app; they only fail here when the code changed under a restarted pool.
            if (!app.Tasks.TryGet(message.Task, out var task))
            {
                return new TaskOutcome.Failed(new RemoteException("NotRegistered", $"'{message.Task}'", "celery.exceptions", null), null, 0);
            }
            object?[] arguments;
            try
            {
                arguments = task.Invoker.BindArguments(message.Args, message.Kwargs);
            }
            catch (TaskArgumentException ex)
            {
                return new TaskOutcome.Failed(new RemoteException("TypeError", ex.Message, "builtins", null), ex, 0);
            }
            _invocation ??= new TaskInvocation(app.Services, request.WorkerName, app.TimeProvider);
            var job = new TaskJob(new Delivery(request.Queue, ReadOnlyMemory<byte>.Empty, "pool-child", request.DeliveryCount), message, task, arguments);
            return await _invocation.InvokeAsync(job, request.SoftTimeLimit, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
