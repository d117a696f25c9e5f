using System.Diagnostics;

namespace Fennel.IntegrationTests;

public sealed class ProducerAndWorkersTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly IntegrationSandbox _sandbox = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Producer_and_two_workers_on_one_file_run_2000_tasks_on_the_right_workers()
    {
        var customers = _sandbox.StartTestApp("customers worker", "worker", "-Q", "customers", "-n", "customers.%h", "-c", "4", "-l", "warning");
        var general = _sandbox.StartTestApp("celery worker", "worker", "-Q", "celery", "-c", "4", "-l", "warning");

        var clock = Stopwatch.StartNew();
        var (producer, exitCode) = await _sandbox.RunTestAppAsync("producer", TimeSpan.FromSeconds(150), "produce", "--count", "2000", "--timeout", "120");
        output.WriteLine($"produce --count 2000 took {clock.Elapsed.TotalSeconds:0.00} s including process start-up; it printed: {producer.Stdout}");

        Assert.True(exitCode == 0, $"produce exited with {exitCode}.\n{_sandbox.DescribeProcesses()}");
        Assert.Contains("2000 sent, 2000 correct, 0 wrong-worker, 0 failed", producer.Stdout, StringComparison.Ordinal);

        customers.Signal(ChildProcess.SigTerm);
        general.Signal(ChildProcess.SigTerm);
        var customersExit = await customers.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var generalExit = await general.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(customersExit == 0 && generalExit == 0,
            $"After SIGTERM the workers exited with {customersExit} and {generalExit}, not 0 (warm shutdown).\n{_sandbox.DescribeProcesses()}");
    }
}
