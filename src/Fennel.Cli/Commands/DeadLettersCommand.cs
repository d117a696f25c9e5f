using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using Fennel.Cli.CommandLine;
using Fennel.Cli.Output;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Transport;

namespace Fennel.Cli.Commands;

/// <summary>
/// <c>dead-letters list|show ID|requeue ID...|requeue --all|purge</c>: the broker's dead letters
/// (<see cref="IDeadLetterStore"/>), as the dashboard's Dead letters page shows them, for a terminal or a script.
/// </summary>
internal static class DeadLettersCommand
{
    /// <summary>The actions, with their help.</summary>
    public static readonly IReadOnlyDictionary<string, string> Actions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["list"] = "The newest dead letters: id, queue, when, deliveries, task, reason (--limit, --json)",
        ["show"] = "One dead letter in full, with the message (ID; --json)",
        ["requeue"] = "Puts dead letters back on their queues (ID... or --all)",
        ["purge"] = "Deletes every dead letter (asks first unless --force)",
    };

    /// <summary>The most <c>list</c> shows, and how many are scanned to find one by id.</summary>
    internal const int ScanBound = 10_000;

    /// <summary>The most <c>requeue --all</c> puts back in one run.</summary>
    internal const int RequeueAllBound = 10_000;

    private const int RequeuePage = 500;
    private const string SensitiveMask = "***";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static CommandSpec Spec { get; } = new("dead-letters",
        "Lists, shows, requeues and purges the messages the workers could not run.",
    [
        new(["-n", "--limit"], "How many dead letters 'list' shows, newest first (default 100)", "N"),
        new(["--all"], "With 'requeue': every dead letter there is when it starts"),
        new(["-f", "--force"], "With 'purge': do not ask for confirmation"),
        Remote.Json,
    ], ["ACTION..."], RunAsync)
    {
        Details = "Actions:" + Environment.NewLine + string.Join(Environment.NewLine, Actions.Select(a => $"  {a.Key,-16} {a.Value}")),
    };

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        var action = cmd.Positionals[0];
        var ids = cmd.Positionals.Skip(1).ToList();
        if (!Actions.ContainsKey(action)) throw new UsageException($"Unknown dead-letters action '{action}'. Actions: {string.Join(", ", Actions.Keys)}.");
        switch (action)
        {
            case "show" when ids.Count != 1:
                throw new UsageException("'dead-letters show' needs exactly one dead letter id.");
            case "requeue" when cmd.Has("all") == ids.Count > 0:
                throw new UsageException("'dead-letters requeue' needs dead letter ids or --all, not both or neither.");
            case "list" or "purge" when ids.Count > 0:
                throw new UsageException($"'dead-letters {action}' takes no arguments; got '{ids[0]}'.");
        }
        if (cmd.Has("all") && action != "requeue") throw new UsageException("--all goes with 'dead-letters requeue' only.");
        if (cmd.Has("force") && action != "purge") throw new UsageException("--force goes with 'dead-letters purge' only.");
        if (cmd.Has("limit") && action != "list") throw new UsageException("--limit goes with 'dead-letters list' only.");
        if (cmd.Has("json") && action is not ("list" or "show")) throw new UsageException($"--json goes with 'dead-letters list' and 'show' only.");
        var limit = cmd.GetInt("limit", min: 1) ?? 100;
        if (limit > ScanBound) throw new UsageException($"--limit is at most {ScanBound}, not {limit}.");

        var store = app.Transport as IDeadLetterStore;
        if (store is null)
        {
            throw new FennelConfigurationException($"The broker ({app.Options.EffectiveBrokerUrl.Split("://")[0]}://) keeps no dead letters: " +
                "its transport has no dead-letter store. SQLite, Redis and RabbitMQ have one.");
        }
        return action switch
        {
            "list" => await ListAsync(store, limit, cmd.Has("json"), cancellationToken).ConfigureAwait(false),
            "show" => await ShowAsync(store, ids[0], cmd.Has("json"), cancellationToken).ConfigureAwait(false),
            "requeue" when cmd.Has("all") => await RequeueAllAsync(store, cancellationToken).ConfigureAwait(false),
            "requeue" => await RequeueAsync(store, ids, cancellationToken).ConfigureAwait(false),
            _ => await PurgeAsync(store, cmd.Has("force"), cancellationToken).ConfigureAwait(false),
        };
    }

    private static async Task<int> ListAsync(IDeadLetterStore store, int limit, bool json, CancellationToken cancellationToken)
    {
        var letters = (await store.ListDeadLettersAsync(limit, cancellationToken).ConfigureAwait(false)).Select(View).ToList();
        if (json)
        {
            Console.WriteLine(new JsonObject { ["dead_letters"] = new JsonArray([.. letters.Select(l => (JsonNode?)l.ToJson())]) }.ToJsonString(ReplyViews.JsonOptions));
            return ExitCodes.Ok;
        }
        if (letters.Count == 0)
        {
            Console.WriteLine("No dead letters.");
            return ExitCodes.Ok;
        }
        var table = new TextTable("ID", "QUEUE", "DEAD-LETTERED", "DELIVERIES", "TASK", "TASK ID", "REASON");
        foreach (var l in letters) table.Add(l.Id, l.Queue, Time(l.DeadLetteredAt), l.DeliveryCount.ToString(CultureInfo.InvariantCulture), l.Task ?? "-", l.TaskId ?? "-", l.Reason);
        Console.WriteLine(table + Environment.NewLine + Environment.NewLine +
            (letters.Count == limit ? $"{letters.Count} dead letters shown, newest first; --limit shows more." : $"{letters.Count} dead letter(s)."));
        return ExitCodes.Ok;
    }

    private static async Task<int> ShowAsync(IDeadLetterStore store, string id, bool json, CancellationToken cancellationToken)
    {
        var letters = await store.ListDeadLettersAsync(ScanBound, cancellationToken).ConfigureAwait(false);
        if (letters.FirstOrDefault(l => l.Id == id) is not { } letter)
        {
            await Console.Error.WriteLineAsync($"error: no dead letter '{id}' among the newest {ScanBound}: it was requeued or purged, or the id is wrong. " +
                "'dead-letters list' shows the ids.").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        var view = View(letter);
        string? body = null, encoding = null, hidden = null;
        if (view.Args?.Contains(SensitiveMask, StringComparison.Ordinal) == true || view.Kwargs?.Contains(SensitiveMask, StringComparison.Ordinal) == true)
        {
            // The body holds the arguments the reprs hide, as the dashboard does not show it either.
            hidden = "The task has sensitive arguments ('***' in its argsrepr or kwargsrepr): its body is not shown.";
        }
        else
        {
            try
            {
                body = StrictUtf8.GetString(letter.Body.Span);
            }
            catch (DecoderFallbackException)
            {
                (body, encoding) = (Convert.ToBase64String(letter.Body.Span), "base64");
            }
        }
        if (json)
        {
            var detail = view.ToJson();
            detail["body"] = body;
            detail["body_encoding"] = encoding;
            detail["body_hidden"] = hidden;
            Console.WriteLine(detail.ToJsonString(ReplyViews.JsonOptions));
            return ExitCodes.Ok;
        }
        var text = new StringBuilder();
        Row(text, "id", view.Id);
        Row(text, "queue", view.Queue);
        Row(text, "dead-lettered", Time(view.DeadLetteredAt));
        Row(text, "deliveries", view.DeliveryCount.ToString(CultureInfo.InvariantCulture));
        Row(text, "task", view.Task ?? "- (not a task message)");
        Row(text, "task id", view.TaskId ?? "-");
        Row(text, "args", view.Args ?? "-");
        Row(text, "kwargs", view.Kwargs ?? "-");
        Row(text, "reason", view.Reason);
        text.AppendLine(CultureInfo.InvariantCulture, $"message ({view.Size} bytes{(encoding is null ? "" : ", " + encoding)}):");
        text.AppendLine(hidden ?? body);
        Console.Write(text.ToString());
        return ExitCodes.Ok;
    }

    private static async Task<int> RequeueAsync(IDeadLetterStore store, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        var requeued = 0;
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            if (await store.RequeueDeadLetterAsync(id, cancellationToken).ConfigureAwait(false)) requeued++;
            else missing.Add(id);
        }
        Console.WriteLine($"{requeued} dead letter(s) requeued.");
        if (missing.Count == 0) return ExitCodes.Ok;
        await Console.Error.WriteLineAsync($"error: no dead letter {string.Join(", ", missing.Select(m => $"'{m}'"))}: requeued or purged already, or a wrong id.").ConfigureAwait(false);
        return ExitCodes.Failed;
    }

    /// <summary>
    /// Requeues every dead letter there was when it began, newest first, page by page, as the dashboard's "Requeue all" does:
    /// those dead-lettered after its first look (often the same messages, refused again by a worker) are left, which stops
    /// a loop. Stops at <see cref="RequeueAllBound"/>, or when the scan reaches <see cref="ScanBound"/> without finding older ones.
    /// </summary>
    private static async Task<int> RequeueAllAsync(IDeadLetterStore store, CancellationToken cancellationToken)
    {
        var requeued = 0;
        var limit = RequeuePage;
        DateTimeOffset? cutoff = null;
        var attempted = new HashSet<string>(StringComparer.Ordinal);
        var bounded = false;
        while (true)
        {
            var page = await store.ListDeadLettersAsync(limit, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0) break;
            cutoff ??= page.Max(l => l.DeadLetteredAt);
            var older = page.Where(l => l.DeadLetteredAt <= cutoff && attempted.Add(l.Id)).ToList();
            if (older.Count == 0)
            {
                if (page.Count < limit) break;
                if (limit >= ScanBound)
                {
                    bounded = true;
                    break;
                }
                limit = Math.Min(ScanBound, limit + RequeuePage);
                continue;
            }
            foreach (var letter in older)
            {
                if (await store.RequeueDeadLetterAsync(letter.Id, cancellationToken).ConfigureAwait(false)) requeued++;
                bounded = requeued >= RequeueAllBound;
                if (bounded) break;
            }
            if (bounded) break;
            limit = Math.Min(ScanBound, page.Count - older.Count + RequeuePage);
        }
        Console.WriteLine($"{requeued} dead letter(s) requeued." + (bounded ? $" Stopped at a bound ({RequeueAllBound} requeued or {ScanBound} scanned): run it again for more." : ""));
        return ExitCodes.Ok;
    }

    private static async Task<int> PurgeAsync(IDeadLetterStore store, bool force, CancellationToken cancellationToken)
    {
        if (!force)
        {
            if (Console.IsInputRedirected)
            {
                await Console.Error.WriteLineAsync("error: purge deletes dead letters for good; pass --force to purge them without a prompt.").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            Console.Write("Delete every dead letter? This cannot be undone. [y/N] ");
            if (!string.Equals(Console.ReadLine()?.Trim(), "y", StringComparison.OrdinalIgnoreCase)) return ExitCodes.Ok;
        }
        var purged = await store.PurgeDeadLettersAsync(cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"{purged} dead letter(s) purged.");
        return ExitCodes.Ok;
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static void Row(StringBuilder text, string name, string value) => text.AppendLine(CultureInfo.InvariantCulture, $"{name,-14} {value}");

    private static Letter View(DeadLetter letter)
    {
        var task = DeadLetterTask.Read(letter);
        return new Letter(letter.Id, letter.Queue, letter.Reason, letter.DeadLetteredAt, letter.DeliveryCount, task.TaskId, task.Task, task.Args,
            task.Kwargs, letter.Body.Length);
    }

    /// <summary>A dead letter as listed: what the store keeps, and what the message says of its task when it parses as one.</summary>
    private sealed record Letter(string Id, string Queue, string Reason, DateTimeOffset DeadLetteredAt, int DeliveryCount, string? TaskId,
        string? Task, string? Args, string? Kwargs, int Size)
    {
        /// <summary>The fields with the dashboard API's names (<c>GET /api/dead-letters</c>).</summary>
        public JsonObject ToJson() => new()
        {
            ["id"] = Id,
            ["queue"] = Queue,
            ["reason"] = Reason,
            ["dead_lettered_at"] = DeadLetteredAt.ToString("O", CultureInfo.InvariantCulture),
            ["delivery_count"] = DeliveryCount,
            ["task_id"] = TaskId,
            ["task"] = Task,
            ["args"] = Args,
            ["kwargs"] = Kwargs,
            ["size"] = Size,
        };
    }
}
