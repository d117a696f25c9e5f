using System.Text;
using Fennel.Protocol;
using Microsoft.Data.Sqlite;

namespace Fennel.IntegrationTests;

/// <summary>
/// What one test works in: its own folder with its own journal and broker — a SQLite file in the folder, or a Redis
/// database or RabbitMQ vhost given by URL — the test app's processes it started (all killed on dispose, pass or fail),
/// and an in-process app on the same broker for sending and checking.
/// </summary>
internal sealed class IntegrationSandbox : IAsyncDisposable
{
    private readonly List<ChildProcess> _children = [];
    private FennelApp? _app;

    /// <summary>A sandbox on its own SQLite file, or on <paramref name="brokerUrl"/> (a Redis database the test owns).</summary>
    public IntegrationSandbox(string? brokerUrl = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "fennel-it-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Folder);
        DatabasePath = Path.Combine(Folder, "broker.db");
        JournalPath = Path.Combine(Folder, "journal.txt");
        // sqlite:////tmp/.../broker.db: four slashes, an absolute path.
        BrokerUrl = brokerUrl ?? "sqlite:///" + DatabasePath;
    }

    public string Folder { get; }

    public string DatabasePath { get; }

    public string BrokerUrl { get; }

    public string JournalPath { get; }

    /// <summary>An app in the test process on the same file: the client, the transport, the result store.</summary>
    public FennelApp App => _app ??= FennelApp.CreateBuilder(["-b", BrokerUrl, "-l", "warning"]).Build();

    public JournalFile ReadJournal() => JournalFile.Read(JournalPath);

    /// <summary>
    /// Starts <c>dotnet Fennel.TestApp.dll &lt;args&gt;</c> with FENNEL_BROKER_URL (this sandbox's file) and FENNEL_TEST_JOURNAL set,
    /// and <paramref name="environment"/> on top.
    /// </summary>
    public ChildProcess StartTestApp(string name, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["FENNEL_BROKER_URL"] = BrokerUrl,
            ["FENNEL_TEST_JOURNAL"] = JournalPath,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) variables[key] = value;
        var child = ChildProcess.Start(name, "dotnet", [TestAppLocation.Path, .. args], variables, Folder);
        lock (_children) _children.Add(child);
        return child;
    }

    public ChildProcess StartTestApp(string name, params string[] args) => StartTestApp(name, args, null);

    /// <summary>Runs a test app command to its end (within <paramref name="timeout"/>) and returns the finished process.</summary>
    public async Task<(ChildProcess Process, int ExitCode)> RunTestAppAsync(string name, TimeSpan timeout, params string[] args)
    {
        var child = StartTestApp(name, args);
        return (child, await child.WaitForExitAsync(timeout));
    }

    /// <summary>The ids of every task whose message is still in the broker (waiting or leased): not acknowledged.</summary>
    public async Task<HashSet<string>> ReadUnacknowledgedTaskIdsAsync()
    {
        if (BrokerUrl.StartsWith("redis", StringComparison.Ordinal)) return await RedisBroker.ReadUnacknowledgedTaskIdsAsync(BrokerUrl);
        if (BrokerUrl.StartsWith("amqp", StringComparison.Ordinal)) return await RabbitMQBroker.ReadUnacknowledgedTaskIdsAsync();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        await using (connection)
        {
            await connection.OpenAsync();
            var command = connection.CreateCommand();
            command.CommandText = "SELECT body FROM messages";
            var reader = await command.ExecuteReaderAsync();
            await using (reader)
            {
                while (await reader.ReadAsync()) ids.Add(TaskEnvelope.Decode(reader.GetFieldValue<byte[]>(0)).Message.Id);
            }
        }
        return ids;
    }

    /// <summary>Every process's output, for a failure message.</summary>
    public string DescribeProcesses()
    {
        lock (_children)
        {
            var text = new StringBuilder();
            foreach (var child in _children) text.AppendLine(child.Describe());
            return text.ToString();
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<ChildProcess> children;
        lock (_children) children = [.. _children];
        foreach (var child in children) child.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary folder.
        }
    }
}
