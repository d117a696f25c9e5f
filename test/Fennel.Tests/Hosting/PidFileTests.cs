using Fennel.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Tests.Hosting;

public sealed class PidFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fennel-pid-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Writes_the_pid_and_removes_the_file_on_dispose()
    {
        var path = Path.Combine(_folder, "run", "w.pid");
        using (var pid = PidFile.Create(path, NullLogger.Instance))
        {
            Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(path));
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
        }
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Refuses_a_file_that_names_a_running_process()
    {
        var path = Path.Combine(_folder, "w.pid");
        File.WriteAllText(path, "4242\n");
        var ex = Assert.Throws<PidFileException>(() => PidFile.Create(path, 100, pid => pid == 4242, NullLogger.Instance));
        Assert.Contains("4242", ex.Message, StringComparison.Ordinal);
        Assert.Contains("running", ex.Message, StringComparison.Ordinal);
        Assert.Equal("4242\n", File.ReadAllText(path)); // untouched
    }

    [Fact]
    public void Refuses_a_file_that_names_a_real_running_process()
    {
        var path = Path.Combine(_folder, "w.pid");
        using var other = System.Diagnostics.Process.Start("sleep", "30");
        try
        {
            File.WriteAllText(path, $"{other.Id}\n");
            Assert.Throws<PidFileException>(() => PidFile.Create(path, NullLogger.Instance));
        }
        finally
        {
            other.Kill();
        }
    }

    [Theory]
    [InlineData("4242\n")]   // a process that is gone
    [InlineData("100\n")]    // ourselves: a container's pid 1 at every start
    [InlineData("garbage")]  // half a file from another tool
    [InlineData("")]
    public void Replaces_a_stale_file(string content)
    {
        var path = Path.Combine(_folder, "w.pid");
        File.WriteAllText(path, content);
        using var pid = PidFile.Create(path, 100, _ => false, NullLogger.Instance);
        Assert.Equal("100\n", File.ReadAllText(path));
    }

    [Fact]
    public void Leaves_a_file_another_process_took_over()
    {
        var path = Path.Combine(_folder, "w.pid");
        var pid = PidFile.Create(path, 100, _ => false, NullLogger.Instance);
        File.WriteAllText(path, "200\n");
        pid.Dispose();
        Assert.Equal("200\n", File.ReadAllText(path));
    }

    [Fact]
    public void A_folder_that_cannot_hold_it_is_a_clear_error()
    {
        var blocker = Path.Combine(_folder, "file");
        File.WriteAllText(blocker, "");
        var ex = Assert.Throws<PidFileException>(() => PidFile.Create(Path.Combine(blocker, "w.pid"), NullLogger.Instance));
        Assert.Contains("Cannot write the pid file", ex.Message, StringComparison.Ordinal);
    }
}
