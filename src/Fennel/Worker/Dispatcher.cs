using System.Collections.Concurrent;
using System.Threading.Channels;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// Checks each fetched message before it may run — malformed, revoked, lost too often, unknown, badly called — and turns
/// it into a <see cref="TaskJob"/> for the runners: at once, or once due (its ETA: waiting here when close, parked in the
/// broker when far) and its rate-limit turn has come. What it refuses is settled through <see cref="Settler"/> (stored,
/// dead-lettered); what it gives back goes through <see cref="HeldMessages"/>. It calls nothing upstream.
/// </summary>
internal sealed class Dispatcher
{
    /// <summary>Messages due within this window wait in the worker; later ones are parked in the broker.</summary>
    private static readonly TimeSpan EtaWindow = TimeSpan.FromSeconds(1);

    /// <summary>Hardly ever give a rate-limited message back for longer than this: it is fetched again when due.</summary>
    private static readonly TimeSpan LongestGiveBack = TimeSpan.FromHours(1);

    private readonly Channel<TaskJob> _jobs = Channel.CreateUnbounded<TaskJob>(new UnboundedChannelOptions { SingleWriter = false });

    /// <summary>
    /// Held messages waiting here before they may go to the runners — for their ETA, their rate-limit turn, or both — by
    /// delivery tag: cancelling one gives its message back unstarted (shutdown).
    /// </summary>
    private readonly ConcurrentDictionary<string, (CancellationTokenSource Cancel, Task<bool> Returned)> _waiting = new(StringComparer.Ordinal);

    private readonly HeldMessages _held;
    private readonly Settler _settler;
    private readonly RateLimits _rateLimits;
    private readonly RevokedTasks _revoked;
    private readonly TaskEvents _events;
    private readonly TaskRegistry _tasks;
    private readonly TimeLimitOverrides _timeLimits;
    private readonly bool _canDelay;
    private readonly int _maxDeliveries;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _node;

    public Dispatcher(HeldMessages held, Settler settler, RateLimits rateLimits, RevokedTasks revoked, TaskEvents events, TaskRegistry tasks,
        TimeLimitOverrides timeLimits, TransportCapabilities capabilities, int maxDeliveries, TimeProvider time, ILogger logger, string node)
    {
        _held = held;
        _settler = settler;
        _rateLimits = rateLimits;
        _revoked = revoked;
        _events = events;
        _tasks = tasks;
        _timeLimits = timeLimits;
        _canDelay = capabilities.HasFlag(TransportCapabilities.DelayedDelivery);
        _maxDeliveries = maxDeliveries;
        _time = time;
        _logger = logger;
        _node = node;
    }

    /// <summary>The jobs ready to run, in order: what the runners take.</summary>
    public ChannelReader<TaskJob> Jobs => _jobs.Reader;

    public async Task DispatchAsync(Delivery delivery)
    {
        TaskMessage message;
        try
        {
            message = TaskMessageCodec.Decode(delivery.Envelope);
        }
        catch (MessageFormatException ex)
        {
            _events.MalformedRefused(delivery);
            await _held.DeadLetterAsync(delivery, $"malformed message: {ex.Message}").ConfigureAwait(false);
            return;
        }

        if (_revoked.Contains(message.Id))
        {
            await _settler.DiscardRevokedAsync(delivery, message).ConfigureAwait(false);
            return;
        }

        if (delivery.DeliveryCount > _maxDeliveries)
        {
            await _settler.WorkerLostAsync(delivery, message, delivery.DeliveryCount, null).ConfigureAwait(false);
            return;
        }

        if (!_tasks.TryGet(message.Task, out var task))
        {
            var notRegistered = new RemoteException("NotRegistered", $"'{message.Task}'", "celery.exceptions", null);
            await _settler.RefuseAsync(delivery, message, notRegistered,
                $"task {message.Id}: unknown task '{message.Task}': no task of that name is registered on {_node}").ConfigureAwait(false);
            return;
        }

        object?[] arguments;
        try
        {
            arguments = task.Invoker.BindArguments(message.Args, message.Kwargs);
        }
        catch (TaskArgumentException ex)
        {
            var typeError = new RemoteException("TypeError", ex.Message, "builtins", null);
            await _settler.RefuseAsync(delivery, message, typeError, $"task {message.Task}[{message.Id}]: bad arguments: {ex.Message}").ConfigureAwait(false);
            return;
        }

        Log.TaskReceived(_logger, message.DisplayName, message.Id);
        _events.Received(message, task);
        var job = new TaskJob(delivery, message, _timeLimits.Apply(task), arguments);
        _held.Track(job);
        var now = _time.GetUtcNow();
        if (message.Eta is { } eta && eta > now)
        {
            if (eta - now > EtaWindow && _canDelay)
            {
                Log.TaskParked(_logger, message.DisplayName, message.Id, eta);
                await _held.ReleaseAsync(delivery, "park until due", eta).ConfigureAwait(false);
                return;
            }
            WaitForTurn(job, eta);
            return;
        }
        if (_rateLimits.LineFor(task) is { } line)
        {
            if (await GiveBackWhenManyWaitAsync(job, line).ConfigureAwait(false)) return;
            WaitForTurn(job, null);
            return;
        }
        await _jobs.Writer.WriteAsync(job).ConfigureAwait(false);
    }

    /// <summary>
    /// Holds a message (its lease renewed meanwhile) until its ETA, if any, and then its rate-limit turn, if its task is
    /// rate-limited then; hands it to the runners after. Other tasks are not held up: a message waiting for its turn gives
    /// its prefetch slot back (see <see cref="HeldMessages.TryWaitWithoutSlot"/>).
    /// </summary>
    private void WaitForTurn(TaskJob job, DateTimeOffset? eta)
    {
        var cancel = new CancellationTokenSource();
        var tag = job.Delivery.DeliveryTag;
        // Without an ETA to wait for, it takes its place in the rate-limit line now, in arrival order (the waits below run
        // concurrently and could otherwise join in any order).
        var turn = eta is null ? _rateLimits.LineFor(job.Task)?.Join() : null;
        var returned = WaitThenQueueAsync();
        _waiting[tag] = (cancel, returned);

        async Task<bool> WaitThenQueueAsync()
        {
            await Task.Yield(); // registered in _waiting before it can finish
            try
            {
                if (eta is { } due)
                {
                    await Task.Delay(due - _time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero, _time, cancel.Token).ConfigureAwait(false);
                }
                turn ??= _rateLimits.LineFor(job.Task)?.Join();
                if (turn is not null)
                {
                    _held.TryWaitWithoutSlot(job.Delivery);
                    await RateLimitLine.WaitTurnAsync(turn, cancel.Token).ConfigureAwait(false);
                }
                if (_revoked.Contains(job.Message.Id))
                {
                    await _settler.DiscardRevokedAsync(job.Delivery, job.Message).ConfigureAwait(false);
                    return false;
                }
                if (_jobs.Writer.TryWrite(job)) return false;
            }
            catch (OperationCanceledException)
            {
                // Shutdown: give it back below.
            }
            finally
            {
                _waiting.TryRemove(tag, out _);
                cancel.Dispose();
            }
            return await _held.ReleaseAsync(job.Delivery, "return unstarted").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives a rate-limited message back to the broker, invisible until about when its turn would come, when enough
    /// already wait here: true when it was given back.
    /// </summary>
    private async Task<bool> GiveBackWhenManyWaitAsync(TaskJob job, RateLimitLine line)
    {
        if (!_held.WaitersWithoutSlotFull || !_canDelay) return false;
        var rate = line.Rate;
        if (rate is null) return false;
        var waiting = line.Count;
        var wait = TimeSpan.FromTicks(Math.Clamp(rate.Interval.Ticks * (waiting + 1L), TimeSpan.TicksPerSecond, LongestGiveBack.Ticks));
        var until = _time.GetUtcNow() + wait;
        Log.RateLimitedGivenBack(_logger, job.Message.DisplayName, job.Message.Id, rate.Text, waiting, _node, until);
        await _held.ReleaseAsync(job.Delivery, "give back a rate-limited message until its turn", until).ConfigureAwait(false);
        return true;
    }

    /// <summary>True while <paramref name="deliveryTag"/> waits here for its ETA or rate-limit turn.</summary>
    public bool IsWaiting(string deliveryTag) => _waiting.ContainsKey(deliveryTag);

    /// <summary>Gives back the jobs queued for the runners (to let a suspect run alone); returns how many.</summary>
    public async Task<int> ReturnQueuedAsync(string action)
    {
        var returned = 0;
        while (_jobs.Reader.TryRead(out var job))
        {
            if (await _held.ReleaseAsync(job.Delivery, action).ConfigureAwait(false)) returned++;
        }
        return returned;
    }

    /// <summary>No more jobs (shutdown): the runners end once the queue is empty.</summary>
    public void Complete() => _jobs.Writer.TryComplete();

    /// <summary>Gives back every message dispatched but not started: queued for the runners, or waiting for its ETA or turn.</summary>
    public async Task<int> ReturnUnstartedAsync()
    {
        var returned = await ReturnQueuedAsync("return unstarted").ConfigureAwait(false);
        foreach (var (_, waiting) in _waiting)
        {
            await waiting.Cancel.CancelAsync().ConfigureAwait(false);
            if (await waiting.Returned.ConfigureAwait(false)) returned++;
        }
        return returned;
    }
}
