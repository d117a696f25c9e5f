using System.Diagnostics;
using Xunit;

namespace Fennel.Testing;

/// <summary>
/// Waits for a condition with a deadline, looking again every few milliseconds: the one way tests wait for something to
/// happen (never a bare sleep). At the deadline the test fails with what it waited for and, when given, what it saw last.
/// </summary>
public static class Eventually
{
    /// <summary>The deadline when none is given: generous, since the machine running the tests may be busy.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns when <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/>.</summary>
    /// <param name="condition">What must become true.</param>
    /// <param name="what">What was awaited, for the failure message: "two tasks running".</param>
    /// <param name="timeout">The deadline; <see cref="DefaultTimeout"/> when null.</param>
    public static Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        HoldsAsync(condition, () => what, timeout);

    /// <inheritdoc cref="HoldsAsync(Func{Task{bool}}, string, TimeSpan?)"/>
    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        HoldsAsync(Synchronous(condition), () => what, timeout);

    /// <inheritdoc cref="HoldsAsync(Func{Task{bool}}, Func{string}, TimeSpan?)"/>
    public static Task HoldsAsync(Func<bool> condition, Func<string> what, TimeSpan? timeout = null) =>
        HoldsAsync(Synchronous(condition), what, timeout);

    /// <summary>
    /// Returns when <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/> with the text
    /// <paramref name="what"/> gives then, which can say what the test saw last (a queue's length, a process's output).
    /// </summary>
    /// <param name="condition">What must become true.</param>
    /// <param name="what">What was awaited and what was seen, asked for at the deadline only.</param>
    /// <param name="timeout">The deadline; <see cref="DefaultTimeout"/> when null.</param>
    public static async Task HoldsAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(what);
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed >= limit) Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting for: {what()}");
            await Task.Delay(Interval).ConfigureAwait(false);
        }
    }

    private static Func<Task<bool>> Synchronous(Func<bool> condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return () => Task.FromResult(condition());
    }
}
