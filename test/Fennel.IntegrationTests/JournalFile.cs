namespace Fennel.IntegrationTests;

/// <summary>One line of the test app's journal: "start|end &lt;taskId&gt; &lt;worker&gt; &lt;pid&gt;".</summary>
internal sealed record JournalEntry(string Kind, string TaskId, string Worker, int Pid);

/// <summary>The journal the test app's tasks append to (FENNEL_TEST_JOURNAL): who started and finished which task.</summary>
internal sealed class JournalFile(IReadOnlyList<JournalEntry> entries)
{
    public IReadOnlyList<JournalEntry> Entries { get; } = entries;

    /// <summary>Reads the complete lines written so far (a line being written is left for the next read).</summary>
    public static JournalFile Read(string path)
    {
        if (!File.Exists(path)) return new JournalFile([]);
        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
        {
            text = reader.ReadToEnd();
        }
        var complete = text[..(text.LastIndexOf('\n') + 1)];
        return new JournalFile([.. complete.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse)]);
    }

    public HashSet<string> Started(int pid) => [.. Entries.Where(e => e.Kind == "start" && e.Pid == pid).Select(e => e.TaskId)];

    public HashSet<string> Ended(int pid) => [.. Entries.Where(e => e.Kind == "end" && e.Pid == pid).Select(e => e.TaskId)];

    /// <summary>How many times each task id started, in any process.</summary>
    public Dictionary<string, int> StartCounts() => Entries.Where(e => e.Kind == "start")
        .GroupBy(e => e.TaskId, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    private static JournalEntry Parse(string line)
    {
        var parts = line.Split(' ');
        if (parts.Length != 4 || parts[0] is not ("start" or "end") || !int.TryParse(parts[3], out var pid))
        {
            throw new FormatException($"Not a journal line: '{line}'.");
        }
        return new JournalEntry(parts[0], parts[1], parts[2], pid);
    }
}
