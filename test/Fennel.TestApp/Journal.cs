using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Fennel.Tasks;

namespace Fennel.TestApp;

/// <summary>
/// Appends "start|end &lt;taskId&gt; &lt;workerName&gt; &lt;pid&gt;" lines to the file named by <c>FENNEL_TEST_JOURNAL</c>
/// (nothing when it is not set), so the tests can see which process ran what, and how often.
/// </summary>
/// <remarks>
/// Several processes append to one file, so each line is one <c>write(2)</c> on a descriptor opened with
/// <c>O_APPEND</c>: the kernel puts every line at the end, whole. A <see cref="FileStream"/> with
/// <see cref="FileMode.Append"/> is not enough on Linux: .NET opens it without <c>O_APPEND</c> and writes at its own
/// remembered offset, so two processes overwrite each other's lines (about one line in six was lost in a trial with
/// three processes appending 2000 lines each).
/// </remarks>
public static partial class Journal
{
    private const int OWriteOnly = 0x1, OCreate = 0x40, OAppend = 0x400, OCloseOnExec = 0x80000;
    private static readonly Lazy<int> Descriptor = new(Open);

    public static void Started(TaskContext context) => Write("start", context);

    public static void Ended(TaskContext context) => Write("end", context);

    private static void Write(string kind, TaskContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var fd = Descriptor.Value;
        if (fd < 0) return;
        var line = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{kind} {context.Id} {context.WorkerName} {Environment.ProcessId}\n"));
        var written = NativeMethods.Write(fd, line, line.Length);
        if (written != line.Length)
        {
            throw new IOException($"Could not append to the journal: write returned {written}, errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private static int Open()
    {
        var path = Environment.GetEnvironmentVariable("FENNEL_TEST_JOURNAL");
        if (string.IsNullOrEmpty(path)) return -1;
        var fd = NativeMethods.Open(path, OWriteOnly | OCreate | OAppend | OCloseOnExec, Convert.ToInt32("644", 8));
        return fd >= 0 ? fd : throw new IOException($"Could not open the journal '{path}': errno {Marshal.GetLastPInvokeError()}.");
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags, int mode);

        [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
        internal static partial nint Write(int fd, byte[] buffer, nint count);
    }
}
