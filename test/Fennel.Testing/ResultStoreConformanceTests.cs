using System.Text.Json.Nodes;
using Fennel.Results;
using Xunit;

namespace Fennel.Testing;

/// <summary>
/// The behaviour every <see cref="IResultStore"/> shares. A result store's test project subclasses this and supplies a
/// fresh store; every test uses task ids of its own.
/// </summary>
public abstract class ResultStoreConformanceTests : IAsyncLifetime
{
    private static readonly TimeSpan OneHour = TimeSpan.FromHours(1);
    private IResultStore? _store;

    /// <summary>The store under test.</summary>
    protected IResultStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>Creates a fresh result store for one test.</summary>
    protected abstract Task<IResultStore> CreateResultStoreAsync();

    /// <inheritdoc />
    public virtual async Task InitializeAsync() => _store = await CreateResultStoreAsync();

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
    }

    /// <summary>A task id no other test uses.</summary>
    protected static string NewTaskId() => Guid.NewGuid().ToString();

    /// <summary>A successful result.</summary>
    protected static TaskResult Success(string taskId, int value = 42) => new()
    {
        TaskId = taskId,
        State = TaskState.Success,
        Result = JsonValue.Create(value),
        DateDone = DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task Stored_result_round_trips_every_field()
    {
        var taskId = NewTaskId();
        var stored = new TaskResult
        {
            TaskId = taskId,
            State = TaskState.Failure,
            Result = new RemoteException("ValueError", "bad input", "builtins", null).ToResultJson(),
            Traceback = "Traceback (most recent call last):\n  File \"tasks.py\", line 3\nValueError: bad input",
            DateDone = new DateTimeOffset(2025, 5, 6, 7, 8, 9, 123, TimeSpan.Zero).AddTicks(4560),
            Children = [new JsonArray(new JsonArray("child-id", null), null)],
            ParentId = "parent-id",
            GroupId = "group-id",
            Worker = "celery@host",
        };

        await Store.StoreAsync(stored, OneHour);
        var read = await Store.GetAsync(taskId);

        Assert.NotNull(read);
        Assert.Equal(taskId, read.TaskId);
        Assert.Equal(TaskState.Failure, read.State);
        Assert.Equal(stored.Result!.ToJsonString(), read.Result?.ToJsonString());
        Assert.Equal(stored.Traceback, read.Traceback);
        Assert.Equal(stored.DateDone, read.DateDone);
        Assert.Equal(stored.Children.ToJsonString(), read.Children.ToJsonString());
        Assert.Equal("parent-id", read.ParentId);
        Assert.Equal("group-id", read.GroupId);
        Assert.Equal("celery@host", read.Worker);
        Assert.Equal("ValueError", read.Exception?.Type);
    }

    [Fact]
    public async Task Missing_result_is_null()
    {
        await Store.StoreAsync(Success(NewTaskId()), OneHour);

        Assert.Null(await Store.GetAsync(NewTaskId()));
    }

    [Fact]
    public async Task Expired_result_is_null()
    {
        var (expiring, lasting) = (NewTaskId(), NewTaskId());
        await Store.StoreAsync(Success(lasting), OneHour);
        await Store.StoreAsync(Success(expiring), TimeSpan.FromMilliseconds(200));

        await Eventually.HoldsAsync(async () => await Store.GetAsync(expiring) is null, "the result expired");

        Assert.NotNull(await Store.GetAsync(lasting));
    }

    [Fact]
    public async Task Store_replaces_an_earlier_result()
    {
        var taskId = NewTaskId();
        await Store.StoreAsync(new TaskResult { TaskId = taskId, State = TaskState.Started }, OneHour);

        await Store.StoreAsync(Success(taskId, 7), OneHour);

        var read = await Store.GetAsync(taskId);
        Assert.Equal(TaskState.Success, read?.State);
        Assert.Equal(7, read?.Result?.GetValue<int>());
    }

    [Fact]
    public async Task Wait_returns_at_once_when_already_ready()
    {
        var taskId = NewTaskId();
        await Store.StoreAsync(Success(taskId), OneHour);

        var result = await Store.WaitAsync(taskId, TimeSpan.FromSeconds(30));

        Assert.Equal(TaskState.Success, result.State);
    }

    [Fact]
    public async Task Wait_returns_when_stored_from_another_task()
    {
        var taskId = NewTaskId();
        var wait = Store.WaitAsync(taskId, TimeSpan.FromSeconds(30));

        await Task.Run(() => Store.StoreAsync(Success(taskId, 5), OneHour));

        var result = await wait.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(5, result.Result?.GetValue<int>());
    }

    [Fact]
    public async Task Wait_times_out_with_TimeoutException()
    {
        var taskId = NewTaskId();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => Store.WaitAsync(taskId, TimeSpan.FromMilliseconds(300)));

        Assert.Contains(taskId, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_ready_states_do_not_end_a_wait()
    {
        var taskId = NewTaskId();
        var other = NewTaskId();
        var wait = Store.WaitAsync(taskId, TimeSpan.FromSeconds(30));
        var otherWait = Store.WaitAsync(other, TimeSpan.FromSeconds(30));

        await Store.StoreAsync(new TaskResult { TaskId = taskId, State = TaskState.Started }, OneHour);
        await Store.StoreAsync(new TaskResult
        {
            TaskId = taskId,
            State = TaskState.Retry,
            Result = new RemoteException("TimeoutError", "try again", "builtins", null).ToResultJson(),
        }, OneHour);
        // A result stored after them has reached its waiter: a waiter that wrongly stops at STARTED or RETRY has stopped.
        await Store.StoreAsync(Success(other), OneHour);
        Assert.Equal(TaskState.Success, (await otherWait.WaitAsync(TimeSpan.FromSeconds(60))).State);
        Assert.False(wait.IsCompleted, "The wait ended on a state that is not ready.");

        await Store.StoreAsync(Success(taskId), OneHour);

        var result = await wait.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(TaskState.Success, result.State);
    }

    [Fact]
    public async Task Wait_honours_cancellation()
    {
        using var cancel = new CancellationTokenSource();
        var wait = Store.WaitAsync(NewTaskId(), TimeSpan.FromMinutes(5), cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Forget_deletes_the_result()
    {
        var (forgotten, kept) = (NewTaskId(), NewTaskId());
        await Store.StoreAsync(Success(forgotten), OneHour);
        await Store.StoreAsync(Success(kept), OneHour);

        await Store.ForgetAsync(forgotten);

        Assert.Null(await Store.GetAsync(forgotten));
        Assert.NotNull(await Store.GetAsync(kept));
    }
}
