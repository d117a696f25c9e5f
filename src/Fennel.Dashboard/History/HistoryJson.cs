using System.Text.Json.Serialization;

namespace Fennel.Dashboard.History;

/// <summary>Source-generated JSON for the few values the history stores as JSON (a worker's load averages; a batch's task ids, for one query).</summary>
[JsonSerializable(typeof(IReadOnlyList<double>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class HistoryJson : JsonSerializerContext;
