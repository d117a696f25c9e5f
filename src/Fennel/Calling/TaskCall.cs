using System.Text.Json.Nodes;
using Fennel.Tasks;

namespace Fennel.Calling;

/// <summary>One call of a task by name, for batches: <see cref="FennelClient.SendBatchAsync"/>.</summary>
/// <param name="Name">The task name.</param>
/// <param name="Args">Positional arguments.</param>
/// <param name="Kwargs">Keyword arguments.</param>
/// <param name="Options">Call options.</param>
public sealed record TaskCall(string Name, JsonArray? Args = null, JsonObject? Kwargs = null, CallOptions? Options = null);
