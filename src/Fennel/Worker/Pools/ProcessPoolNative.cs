using System.Runtime.InteropServices;

namespace Fennel.Worker.Pools;

/// <summary>The few libc calls the process pool needs (Linux; other Unixes lack <c>prctl</c> and skip it).</summary>
internal static partial class ProcessPoolNative
{
    private const int PrSetParentDeathSignal = 1;
    private const int SigKill = 9;

    /// <summary>
    /// Asks the kernel to SIGKILL this process when its parent dies (Linux <c>PR_SET_PDEATHSIG</c>). The kernel means the
    /// parent <em>thread</em> that forked it, so the parent starts children from a thread that lives as long as the pool.
    /// False where unsupported; the end of file on the pool socket still ends the child.
    /// </summary>
    public static bool DieWithParent()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return Prctl(PrSetParentDeathSignal, SigKill, 0, 0, 0) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The parent's process id (1 or a subreaper once the parent died).</summary>
    public static int ParentProcessId() => GetParentProcessId();

    /// <summary>Ends the process at once: no finalizers, no exit handlers, nothing a spinning task could hold up.</summary>
    public static void ExitNow(int code) => Exit(code);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nint arg2, nint arg3, nint arg4, nint arg5);

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetParentProcessId();

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void Exit(int code);
}
