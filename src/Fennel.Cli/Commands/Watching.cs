using System.Runtime.InteropServices;

namespace Fennel.Cli.Commands;

/// <summary>
/// How the long-running views (<c>events</c>, <c>status --watch</c>) end: Ctrl+C or SIGTERM end them cleanly with exit
/// 0, and <c>--for SECONDS</c> ends them after that long (for scripts and tests).
/// </summary>
internal sealed class Watching : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration[] _signals;

    public Watching(TimeSpan? duration, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } d) _stop.CancelAfter(d);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            _stop.Cancel();
        }
        _signals = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop)];
    }

    /// <summary>Fires when the view should end.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>Waits until the view should end.</summary>
    public async Task WaitAsync()
    {
        try
        {
            await Task.Delay(Timeout.Infinite, Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        foreach (var signal in _signals) signal.Dispose();
        _stop.Dispose();
    }
}
