namespace Fennel.IntegrationTests;

/// <summary>Waits for a condition with a deadline, looking again every few milliseconds; never a bare sleep.</summary>
internal static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(25);

    /// <summary>Returns when <paramref name="condition"/> holds; throws with <paramref name="explain"/>'s text at the deadline.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> explain)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Not true within {timeout.TotalSeconds:0} s: {explain()}");
            }
            await Task.Delay(Interval);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, TimeSpan timeout, Func<string> explain) =>
        HoldsAsync(() => Task.FromResult(condition()), timeout, explain);
}
