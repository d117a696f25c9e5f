namespace Fennel.Dashboard.Security;

/// <summary>One control action as the audit log keeps it.</summary>
/// <param name="Time">When it was asked for.</param>
/// <param name="User">Who asked.</param>
/// <param name="Address">From which client address.</param>
/// <param name="Action">What: the remote-control command or <c>revoke</c>.</param>
/// <param name="Targets">Whom: node names (empty for every node) or the task id.</param>
/// <param name="Arguments">With which arguments, as JSON.</param>
/// <param name="Outcome">What came of it, in a word or a line.</param>
internal sealed record AuditRecord(DateTimeOffset Time, string User, string? Address, string Action, IReadOnlyList<string> Targets,
    string Arguments, string Outcome);

/// <summary>The latest audit records, newest last; bounded.</summary>
internal sealed class AuditTrail(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Queue<AuditRecord> _records = new();

    public void Add(AuditRecord record)
    {
        if (capacity == 0) return;
        lock (_gate)
        {
            if (_records.Count == capacity) _records.Dequeue();
            _records.Enqueue(record);
        }
    }

    public IReadOnlyList<AuditRecord> Latest(int count)
    {
        lock (_gate) return [.. _records.Reverse().Take(count)];
    }
}
