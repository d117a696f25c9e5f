using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Fennel.Hosting;

/// <summary>
/// A worker's life told to systemd: <c>READY=1</c> once it consumes, <c>STATUS=</c> lines while it runs, <c>STOPPING=1</c>
/// when a shutdown begins, and <c>WATCHDOG=1</c> at half of <c>WatchdogSec</c> while its fetch loop goes round (and
/// during a shutdown, which <c>--shutdown-timeout</c> bounds). When the loop is stuck the pings stop and systemd kills
/// and restarts the worker (<c>Restart=always</c>): nothing is lost, the leases of its messages lapse.
/// </summary>
internal sealed class SystemdWorkerNotifications(SystemdNotifier notifier, Worker.Worker worker, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan StatusEvery = TimeSpan.FromSeconds(10);
    private int _stopping;

    /// <summary>Sends <c>READY=1</c>: call once the worker consumes.</summary>
    public void Ready() => notifier.Ready($"Consuming {string.Join(", ", worker.Queues)} as {worker.Name}");

    /// <summary>Sends <c>STOPPING=1</c> (once) with what the shutdown does.</summary>
    public void Stopping(bool cold)
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 1 && !cold) return;
        notifier.Stopping(cold
            ? $"Cold shutdown: interrupting {worker.Running} running task(s); their messages go back to the broker"
            : $"Warm shutdown: no new tasks; waiting up to {worker.Options.ShutdownTimeout.TotalSeconds:0.#} s for {worker.Running} running task(s)");
    }

    /// <summary>Pings the watchdog and updates the status until the worker has stopped.</summary>
    public async Task RunAsync()
    {
        var watchdog = notifier.WatchdogTimeout;
        var tick = watchdog is { } w ? TimeSpan.FromTicks(Math.Clamp(w.Ticks / 2, TimeSpan.FromMilliseconds(50).Ticks, StatusEvery.Ticks)) : StatusEvery;
        Log.SystemdNotifying(logger, notifier.Address, watchdog is { } t
            ? $"every {tick.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s while the fetch loop goes round (WatchdogSec={t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)})"
            : "off");
        var stuck = false;
        var lastStatus = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(tick, time);
        do
        {
            var liveness = WorkerLiveness.Of(worker, time, WorkerLiveness.StaleAfter);
            if (liveness.Status == "stopping") Stopping(cold: false);
            var pinging = liveness.Alive || liveness.Status == "stopping";
            if (liveness.Status == "stuck" && !stuck) Log.FetchLoopStuck(logger, worker.Name, liveness.SinceFetchLoop?.TotalSeconds ?? 0);
            if (liveness.Status == "ok" && stuck) Log.FetchLoopAlive(logger, worker.Name);
            if (liveness.Status is "stuck" or "ok") stuck = liveness.Status == "stuck";
            if (watchdog is not null && pinging) notifier.Watchdog();
            var now = time.GetUtcNow();
            if (now - lastStatus >= StatusEvery || liveness.Status == "stuck")
            {
                lastStatus = now;
                notifier.Status(liveness.Status switch
                {
                    "stuck" => $"Stuck: the fetch loop has not gone round for {liveness.SinceFetchLoop?.TotalSeconds:0} s",
                    "stopping" => $"Stopping: {worker.Running} task(s) still running, {worker.Processed} processed",
                    _ => $"Consuming {string.Join(", ", worker.Queues)}: {worker.Running} task(s) running, {worker.Processed} processed",
                });
            }
        }
        while (!worker.Completion.IsCompleted && await WaitAsync(timer).ConfigureAwait(false));
        // Stopped between two ticks (a remote shutdown with nothing running is quick): systemd still hears it first.
        if (Interlocked.Exchange(ref _stopping, 1) == 0) notifier.Stopping($"Stopped: {worker.Processed} task(s) processed");
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        var next = timer.WaitForNextTickAsync().AsTask();
        return await Task.WhenAny(next, worker.Completion).ConfigureAwait(false) == next;
    }
}
