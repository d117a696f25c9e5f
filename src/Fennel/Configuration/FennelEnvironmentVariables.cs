namespace Fennel.Configuration;

/// <summary>
/// Maps <c>FENNEL_*</c> environment variables to the <c>Fennel</c> configuration section: single underscores join words
/// (<c>FENNEL_BROKER_URL</c> → <c>Fennel:BrokerUrl</c>), double underscores open a subsection
/// (<c>FENNEL_WORKER__CONCURRENCY</c> → <c>Fennel:Worker:Concurrency</c>).
/// </summary>
internal static class FennelEnvironmentVariables
{
    private const string Prefix = "FENNEL_";

    public static IEnumerable<KeyValuePair<string, string?>> Read(System.Collections.IDictionary variables)
    {
        foreach (System.Collections.DictionaryEntry entry in variables)
        {
            if (entry.Key is not string name || !name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || name.Length == Prefix.Length) continue;
            var path = string.Join(':', name[Prefix.Length..].Split("__").Select(part => part.Replace("_", "", StringComparison.Ordinal)));
            yield return new KeyValuePair<string, string?>("Fennel:" + path, entry.Value as string);
        }
    }
}
