using System.Text.Json.Nodes;
using Fennel.Results;

namespace Fennel.IntegrationTests;

/// <summary>Waiting for a batch of <c>test.slow(i, ms)</c> calls, each of which returns <c>i</c>.</summary>
internal static class SlowTasks
{
    /// <summary>
    /// Waits until every handle ended SUCCESS with its own index as the value, all within <paramref name="allDone"/>;
    /// on time-out the message says how many were done and adds <paramref name="describe"/>'s text (the processes' output).
    /// </summary>
    public static async Task WaitAllSucceededAsync(IReadOnlyList<AsyncResult> handles, TimeSpan allDone, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + allDone;
        for (var i = 0; i < handles.Count; i++)
        {
            TaskResult result;
            try
            {
                var remaining = deadline - DateTime.UtcNow;
                result = await handles[i].WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"Only {i} of {handles.Count} tasks were done after {allDone.TotalSeconds:0} s: {ex.Message}\n{describe()}", ex);
            }
            Assert.True(result.State == TaskState.Success && JsonNode.DeepEquals(result.Result, JsonValue.Create(i)),
                $"test.slow({i}) ended {result.State.ToWire()} with {result.Result?.ToJsonString()} on {result.Worker}.");
        }
    }
}
