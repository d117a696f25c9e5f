using Fennel.Configuration;
using Fennel.Transport;

namespace Fennel.Worker;

// Honouring revokes kept in the broker (IRevokeStore): every live one is read before the first fetch, then the worker
// follows the store's cursor a few times a second into the revoked set the stages read. A revoked message is
// acknowledged unrun and marked REVOKED wherever a stage meets it (Dispatcher: on dispatch and when an ETA comes due;
// Runners: when taken), by Settler.DiscardRevokedAsync; a revoke with terminate stops the running task (Runners).
public sealed partial class Worker
{
    /// <summary>How often the store is read for new revokes: a terminate reaches a running task within about this.</summary>
    private static readonly TimeSpan RevokePoll = TimeSpan.FromMilliseconds(250);

    private const int RevokePage = 1000;

    private IRevokeStore? _revokeStore;
    private string? _revokeCursor;
    private Task _revokeWatcher = Task.CompletedTask;

    /// <summary>
    /// Reads every live revoke before the worker fetches anything, so a task revoked while no worker ran is skipped. Throws
    /// when the broker cannot be read: the worker does not start rather than run revoked tasks.
    /// </summary>
    private async Task LoadRevokesAsync(CancellationToken cancellationToken)
    {
        _revokeStore = _transport as IRevokeStore;
        if (_revokeStore is null)
        {
            Log.RevokesNotKept(_logger, Name, BrokerUrls.Redact(_app.Options.EffectiveBrokerUrl));
            return;
        }
        var count = await ReadNewRevokesAsync(cancellationToken).ConfigureAwait(false);
        Log.RevokesLoaded(_logger, Name, count);
    }

    private void StartWatchingRevokes()
    {
        if (_revokeStore is not null) _revokeWatcher = Task.Run(WatchRevokesAsync, CancellationToken.None);
    }

    /// <summary>Follows the store until the worker has stopped (running tasks can still be terminated during a warm shutdown).</summary>
    private async Task WatchRevokesAsync()
    {
        using var timer = new PeriodicTimer(RevokePoll, _time);
        var failing = false;
        try
        {
            while (await timer.WaitForNextTickAsync(_stopRenewing.Token).ConfigureAwait(false))
            {
                try
                {
                    await ReadNewRevokesAsync(_stopRenewing.Token).ConfigureAwait(false);
                    if (failing) Log.ReadRevokesRecovered(_logger, Name);
                    failing = false;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Logged once per outage; the fetch loop reports the broker's state too.
                    if (!failing) Log.ReadRevokesFailed(_logger, Name, RevokePoll.TotalSeconds, ex);
                    failing = true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    /// <summary>Reads from the cursor until caught up; returns how many live revokes were read.</summary>
    private async Task<int> ReadNewRevokesAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        while (true)
        {
            var page = await _revokeStore!.ReadRevokesAsync(_revokeCursor, RevokePage, cancellationToken).ConfigureAwait(false);
            foreach (var revocation in page.Revocations)
            {
                count++;
                if (_revoked.Add(revocation.TaskId, revocation.ExpiresAt) is { } forgotten)
                {
                    Log.RevokeForgottenEarly(_logger, Name, _revoked.Capacity, forgotten);
                }
                if (revocation.Terminate && TryTerminate(revocation.TaskId)) Log.TerminatingRevokedTask(_logger, revocation.TaskId);
            }
            if (page.Cursor == _revokeCursor) return count;
            _revokeCursor = page.Cursor;
        }
    }
}
