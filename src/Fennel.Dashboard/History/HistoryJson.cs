using System.Text.Json.Serialization;

namespace Fennel.Dashboard.History;

/// <summary>Source-generated JSON for the few values the history stores as JSON (a worker's load averages).</summary>
[JsonSerializable(typeof(IReadOnlyList<double>))]
internal sealed partial class HistoryJson : JsonSerializerContext;
