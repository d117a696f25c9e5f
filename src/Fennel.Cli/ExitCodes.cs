namespace Fennel.Cli;

/// <summary>
/// What the commands exit with, for scripts and supervisors (values from BSD's sysexits where one fits).
/// </summary>
public static class ExitCodes
{
    /// <summary>Done: the command did what it was asked; a worker stopped warm.</summary>
    public const int Ok = 0;

    /// <summary>
    /// A task failed or was revoked (<c>call --wait</c>, <c>result --wait</c>); a worker stopped cold; a node answered
    /// <c>inspect</c> or <c>control</c> with an error; a dead letter named to <c>dead-letters show</c> or <c>requeue</c> is not there.
    /// </summary>
    public const int Failed = 1;

    /// <summary>Bad command line: unknown command or option, missing or bad value.</summary>
    public const int Usage = 64;

    /// <summary>The broker or result store could not be reached.</summary>
    public const int Unavailable = 69;

    /// <summary>An unexpected error inside Fennel (a bug: please report it with the log).</summary>
    public const int Software = 70;

    /// <summary>
    /// A worker cannot take what it must own alone: its <c>--pidfile</c> names a running process (another worker on the
    /// same file), or cannot be written, or its <c>--health-listen</c> address is in use.
    /// </summary>
    public const int CannotCreate = 73;

    /// <summary>Waiting for a result timed out.</summary>
    public const int TimedOut = 75;

    /// <summary>Bad configuration (options, appsettings.json, environment).</summary>
    public const int Config = 78;
}
