using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Fennel.Worker;
using Fennel.Worker.Pools;

namespace Fennel.Tests.Worker.Pools;

public class ProcessPoolProtocolTests
{
    [Fact]
    public async Task Frames_round_trip_in_order_and_end_of_file_between_frames_reads_as_null()
    {
        using var stream = new MemoryStream();
        await ProcessPoolProtocol.WriteFrameAsync(stream, new JsonObject { ["type"] = "a", ["n"] = 1 });
        ProcessPoolProtocol.WriteFrame(stream, new JsonObject { ["type"] = "b", ["text"] = "ünïcode ✓" });
        stream.Position = 0;

        var first = await ProcessPoolProtocol.ReadFrameAsync(stream);
        var second = ProcessPoolProtocol.ReadFrame(stream);
        Assert.Equal("a", ProcessPoolProtocol.TypeOf(first!));
        Assert.Equal(1, first!["n"]!.GetValue<int>());
        Assert.Equal("ünïcode ✓", second!["text"]!.GetValue<string>());
        Assert.Null(await ProcessPoolProtocol.ReadFrameAsync(stream));
        Assert.Null(ProcessPoolProtocol.ReadFrame(stream));
    }

    [Fact]
    public void A_frame_is_a_big_endian_length_then_utf8_json()
    {
        var frame = ProcessPoolProtocol.Encode(new JsonObject { ["type"] = "x" });
        Assert.Equal(frame.Length - 4, BinaryPrimitives.ReadInt32BigEndian(frame));
        Assert.Equal("{\"type\":\"x\"}", Encoding.UTF8.GetString(frame, 4, frame.Length - 4));
    }

    [Fact]
    public async Task A_stream_that_ends_inside_a_frame_is_an_error_not_an_end()
    {
        var frame = ProcessPoolProtocol.Encode(new JsonObject { ["type"] = "run", ["body"] = "abc" });
        var inHeader = await Assert.ThrowsAsync<InvalidDataException>(() => ProcessPoolProtocol.ReadFrameAsync(new MemoryStream(frame[..2])).AsTask());
        Assert.Contains("header", inHeader.Message, StringComparison.Ordinal);
        var inBody = Assert.Throws<InvalidDataException>(() => ProcessPoolProtocol.ReadFrame(new MemoryStream(frame[..^3])));
        Assert.Contains("inside a frame", inBody.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(ProcessPoolProtocol.MaxFrameBytes + 1)]
    public void A_frame_length_out_of_range_is_refused_before_reading_it(int length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, length);
        var error = Assert.Throws<InvalidDataException>(() => ProcessPoolProtocol.ReadFrame(new MemoryStream(header)));
        Assert.Contains("announces", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("{not json")]
    public void A_frame_that_is_not_a_json_object_is_refused(string payload)
    {
        var json = Encoding.UTF8.GetBytes(payload);
        var frame = new byte[4 + json.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, json.Length);
        json.CopyTo(frame, 4);
        Assert.Throws<InvalidDataException>(() => ProcessPoolProtocol.ReadFrame(new MemoryStream(frame)));
    }

    [Fact]
    public void Ready_carries_the_nonce_and_pid()
    {
        var (nonce, pid) = ProcessPoolProtocol.ReadReady(RoundTrip(ProcessPoolProtocol.Ready("abc123", 4242)));
        Assert.Equal(("abc123", 4242), (nonce, pid));
        Assert.Throws<InvalidDataException>(() => ProcessPoolProtocol.ReadReady(new JsonObject { ["type"] = "run" }));
    }

    [Fact]
    public void Run_carries_the_decoded_message_whole_with_queue_delivery_count_worker_and_soft_limit()
    {
        var message = new TaskMessage
        {
            Id = "t-1", Task = "tasks.add", Args = [2, 3], Kwargs = new JsonObject { ["z"] = "ünïcode ✓" }, Retries = 2, RootId = "root", ParentId = "parent",
            Eta = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), ReplyTo = "reply-1", Priority = 7, IgnoreResult = true,
            ExtraHeaders = new JsonObject { ["custom"] = "x" }, Embed = new TaskEmbed { Callbacks = [new JsonObject { ["task"] = "tasks.next" }] },
        };
        var request = new ProcessPoolProtocol.RunRequest("customers", 3, "celery@host", TimeSpan.FromSeconds(1.5), message);

        var read = ProcessPoolProtocol.ReadRun(RoundTrip(ProcessPoolProtocol.Run(request)));
        Assert.Equal("customers", read.Queue);
        Assert.Equal(3, read.DeliveryCount);
        Assert.Equal("celery@host", read.WorkerName);
        Assert.Equal(TimeSpan.FromSeconds(1.5), read.SoftTimeLimit);
        // The child gets the message the parent decoded, not the delivery: every field the handler's context shows.
        Assert.Equal(TaskEnvelope.Encode(message, "customers", DateTimeOffset.UnixEpoch, deliveryTag: "tag"),
            TaskEnvelope.Encode(read.Message, "customers", DateTimeOffset.UnixEpoch, deliveryTag: "tag"));
        Assert.Equal("t-1", read.Message.Id);
        Assert.Equal((7, "reply-1", 2), (read.Message.Priority, read.Message.ReplyTo, read.Message.Retries));

        var noLimit = ProcessPoolProtocol.ReadRun(RoundTrip(ProcessPoolProtocol.Run(request with { SoftTimeLimit = null })));
        Assert.Null(noLimit.SoftTimeLimit);
    }

    [Fact]
    public void Success_outcome_carries_the_value_and_the_resident_memory()
    {
        var value = new JsonObject { ["n"] = 3, ["list"] = new JsonArray(1, "two", null) };
        var frame = ProcessPoolProtocol.Outcome(new TaskOutcome.Succeeded(value, 0.25), 123_456_789);

        var (outcome, rss) = ProcessPoolProtocol.ReadOutcome(RoundTrip(frame), Sent, TimeProvider.System);
        var success = Assert.IsType<TaskOutcome.Succeeded>(outcome);
        Assert.True(JsonNode.DeepEquals(value, success.Value));
        Assert.Null(success.Value!.Parent); // free to go into a stored result
        Assert.Equal(0.25, success.Seconds);
        Assert.Equal(123_456_789, rss);
    }

    [Fact]
    public void Failure_outcome_carries_the_celery_shaped_exception_with_its_traceback()
    {
        var error = new RemoteException("InvalidOperationException", "disk full", "System", "   at Tasks.Save()\n   at Tasks.Run()");
        var (outcome, _) = ProcessPoolProtocol.ReadOutcome(RoundTrip(ProcessPoolProtocol.Outcome(new TaskOutcome.Failed(error, null, 1), 0)), Sent, TimeProvider.System);
        Assert.Equal(error, Assert.IsType<TaskOutcome.Failed>(outcome).Error);
    }

    [Fact]
    public void Retry_outcome_carries_the_delay_limit_and_reason_and_the_parent_builds_the_next_message_from_its_own()
    {
        var sent = new TaskMessage { Id = "t-2", Task = "tasks.flaky", Args = [7], Retries = 1, ParentId = "p-0", RootId = "root" };
        var eta = DateTimeOffset.UtcNow.AddSeconds(30);
        var next = TaskOutcome.Retried.NextOf(sent, eta);
        var reason = new RemoteException("TimeoutException", "slow", "System", null);
        var frame = ProcessPoolProtocol.Outcome(new TaskOutcome.Retried(next, TimeSpan.FromSeconds(30), 5, reason, 0.5), 0);
        Assert.Null(RoundTrip(frame)["outcome"]!["next"]); // the message does not travel back

        var retried = Assert.IsType<TaskOutcome.Retried>(ProcessPoolProtocol.ReadOutcome(RoundTrip(frame), sent, TimeProvider.System).Outcome);
        Assert.Equal("t-2", retried.Next.Id);
        Assert.Equal(2, retried.Next.Retries);
        Assert.Equal("t-2", retried.Next.ParentId);
        Assert.Equal("root", retried.Next.RootId);
        Assert.InRange(retried.Next.Eta!.Value, eta.AddSeconds(-1), eta.AddSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(30), retried.Delay);
        Assert.Equal(5, retried.MaxRetries);
        Assert.Equal(reason, retried.Reason);
    }

    [Fact]
    public void Only_the_parent_decides_revoked_interrupted_lost_and_expired()
    {
        foreach (TaskOutcome outcome in new TaskOutcome[]
                 {
                     new TaskOutcome.Revoked("terminated", 0), new TaskOutcome.Interrupted(0), new TaskOutcome.Lost("gone", 0), new TaskOutcome.Expired(0),
                 })
        {
            Assert.Throws<ArgumentException>(() => ProcessPoolProtocol.Outcome(outcome, 0));
        }
        Assert.Throws<InvalidDataException>(() => ProcessPoolProtocol.ReadOutcome(new JsonObject
        {
            ["type"] = "outcome", ["outcome"] = new JsonObject { ["kind"] = "revoked" },
        }, Sent, TimeProvider.System));
    }

    [Theory]
    [InlineData(0, "exit code 0")]
    [InlineData(70, "exit code 70")]
    [InlineData(137, "killed by signal 9 (SIGKILL)")]
    [InlineData(134, "killed by signal 6 (SIGABRT)")]
    [InlineData(null, "exit status unknown")]
    public void Child_exits_read_as_codes_or_signals(int? code, string expected) =>
        Assert.Equal(expected, ProcessPoolProtocol.DescribeExit(code));

    [Fact]
    public async Task Runner_turns_a_lost_child_into_a_lost_outcome_for_the_worker_to_count()
    {
        await using var app = TestApps.Create();
        var task = app.Task<int, int>("tasks.id", (int n) => n);
        var runner = new TaskRunner(app.Services, new LosingPool(), "celery@test", TimeProvider.System);
        var message = new TaskMessage { Id = "t-3", Task = "tasks.id", Args = [1] };
        var definition = app.Tasks.All.Single(t => t.Name == "tasks.id");
        var job = new TaskJob(new Delivery("celery", ReadOnlyMemory<byte>.Empty, "tag", 1), message, definition, [1]);

        var outcome = await runner.RunAsync(job, CancellationToken.None);
        Assert.Equal("child process 1 killed by signal 9 (SIGKILL)", Assert.IsType<TaskOutcome.Lost>(outcome).Reason);
        GC.KeepAlive(task);
    }

    [Fact]
    public void Per_child_limits_are_validated_and_copied()
    {
        var options = new WorkerOptions { Pool = WorkerPoolKind.Process, MaxTasksPerChild = 10, MaxMemoryPerChild = 204800 };
        options.Validate();
        var copy = options.Clone();
        Assert.Equal((10, 204800L), (copy.MaxTasksPerChild!.Value, copy.MaxMemoryPerChild!.Value));

        Assert.Contains("max tasks per child", Assert.Throws<FennelConfigurationException>(() =>
            new WorkerOptions { Pool = WorkerPoolKind.Process, MaxTasksPerChild = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("max memory per child", Assert.Throws<FennelConfigurationException>(() =>
            new WorkerOptions { Pool = WorkerPoolKind.Process, MaxMemoryPerChild = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("process pool", Assert.Throws<FennelConfigurationException>(() =>
            new WorkerOptions { Pool = WorkerPoolKind.Threads, MaxTasksPerChild = 5 }.Validate()).Message, StringComparison.Ordinal);
    }

    private static readonly TaskMessage Sent = new() { Id = "t-0", Task = "tasks.any" };

    private static JsonObject RoundTrip(JsonObject frame)
    {
        using var stream = new MemoryStream(ProcessPoolProtocol.Encode(frame));
        return ProcessPoolProtocol.ReadFrame(stream)!;
    }

    /// <summary>A pool whose child always dies (as the process pool reports it).</summary>
    private sealed class LosingPool : IWorkerPool
    {
        public string Name => "losing";

        public Task<TaskOutcome> RunAsync(PoolWork work, CancellationToken cancellationToken)
        {
            work.Started();
            return Task.FromException<TaskOutcome>(new WorkerLostException("child process 1 killed by signal 9 (SIGKILL)"));
        }

        public void Resize(int concurrency) { }

        public Task RestartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Abandon(Task run, AbandonReason reason) { }

        public void Dispose() { }
    }
}
