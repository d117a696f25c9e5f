using System.Text.Json.Nodes;
using Fennel.Results;

namespace Fennel.Interop.Tests;

/// <summary>What a contract call must end with, whichever worker ran it.</summary>
internal abstract record ContractOutcome
{
    /// <summary>The least time from sending to the result (countdown, ETA, retry delay, sleep); zero when it may be at once.</summary>
    public TimeSpan AtLeast { get; init; }

    /// <summary>SUCCESS with this value, compared with Python's equality and types (<see cref="PythonValues"/>).</summary>
    public sealed record Success(string ValueJson) : ContractOutcome
    {
        public JsonNode? Value => JsonNode.Parse(ValueJson);
    }

    /// <summary>
    /// FAILURE or REVOKED with the exception stored exactly as
    /// <c>{"exc_type": Type, "exc_message": [Message], "exc_module": Module}</c>.
    /// </summary>
    public sealed record Error(TaskState State, string Type, string Module, string Message) : ContractOutcome
    {
        public JsonObject StoredResult => new()
        {
            ["exc_type"] = Type,
            ["exc_message"] = new JsonArray(Message),
            ["exc_module"] = Module,
        };
    }
}
