using System.Text.Json.Nodes;

namespace Fennel.IntegrationTests;

/// <summary>The test app's command line as a script or an operator uses it: output, stderr, exit codes.</summary>
public sealed class CommandLineTests : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly IntegrationSandbox _sandbox = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Call_with_wait_prints_the_result_and_result_prints_it_again()
    {
        _sandbox.StartTestApp("worker", "worker", "-Q", "celery", "-c", "2", "-l", "warning");
        var taskId = Guid.NewGuid().ToString();

        var (call, callExit) = await _sandbox.RunTestAppAsync("call", CommandTimeout, "call", "core.echo", "--args", "[3]", "--task-id", taskId, "--wait");
        Assert.True(callExit == 0, $"call exited with {callExit}.\n{_sandbox.DescribeProcesses()}");
        Assert.Equal(3, ParseEcho(call.Stdout, call));

        var (result, resultExit) = await _sandbox.RunTestAppAsync("result", CommandTimeout, "result", taskId);
        Assert.True(resultExit == 0, $"result exited with {resultExit}.\n{result.Describe()}");
        Assert.Equal(3, ParseEcho(result.Stdout, result));
    }

    [Fact]
    public async Task Call_with_wait_of_a_failing_task_exits_1_with_the_exception_on_stderr()
    {
        _sandbox.StartTestApp("worker", "worker", "-Q", "celery", "-c", "2", "-l", "warning");

        var (call, exitCode) = await _sandbox.RunTestAppAsync("call", CommandTimeout, "call", "test.fail", "--args", "[\"boom\"]", "--wait");

        Assert.True(exitCode == 1, $"call exited with {exitCode}, not 1.\n{_sandbox.DescribeProcesses()}");
        Assert.Contains("InvalidOperationException", call.Stderr, StringComparison.Ordinal);
        Assert.Contains("boom", call.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_with_wait_and_no_worker_times_out_with_exit_75()
    {
        var (call, exitCode) = await _sandbox.RunTestAppAsync("call", CommandTimeout, "call", "core.echo", "--args", "[1]", "--wait", "--timeout", "1");

        Assert.True(exitCode == 75, $"call exited with {exitCode}, not 75.\n{call.Describe()}");
        // Logs share stderr (info level by default); the error itself is one line of its own.
        Assert.Contains(call.StderrLines, l => l.StartsWith("error:", StringComparison.Ordinal) && l.Contains("did not finish", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Purge_with_force_deletes_the_waiting_messages_and_prints_how_many()
    {
        for (var i = 0; i < 3; i++)
        {
            var (call, callExit) = await _sandbox.RunTestAppAsync("call", CommandTimeout, "call", "core.echo", "--args", "[7]");
            Assert.True(callExit == 0, $"call exited with {callExit}.\n{call.Describe()}");
        }
        Assert.Equal(3, await _sandbox.App.Transport.GetQueueLengthAsync("celery"));

        var (purge, exitCode) = await _sandbox.RunTestAppAsync("purge", CommandTimeout, "purge", "-Q", "celery", "--force");

        Assert.True(exitCode == 0, $"purge exited with {exitCode}.\n{purge.Describe()}");
        Assert.Contains("celery: 3 message(s) purged", purge.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, await _sandbox.App.Transport.GetQueueLengthAsync("celery"));
    }

    private static int ParseEcho(string stdout, ChildProcess process)
    {
        try
        {
            return JsonNode.Parse(stdout.Trim())?["n"]?.GetValue<int>() ?? throw new FormatException("no \"n\"");
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            throw new Xunit.Sdk.XunitException($"Not an echo result ({ex.Message}).\n{process.Describe()}");
        }
    }
}
