namespace Fennel.Tasks;

/// <summary>A registered task: its name, its options and how to call its handler.</summary>
public sealed class TaskDefinition
{
    internal TaskDefinition(string name, TaskOptions options, TaskInvoker invoker)
    {
        Name = name;
        Options = options;
        Invoker = invoker;
        RateLimit = Tasks.RateLimit.ForTask(name, options.RateLimit);
    }

    /// <summary>The stable name on the wire.</summary>
    public string Name { get; }

    /// <summary>How it behaves.</summary>
    public TaskOptions Options { get; }

    /// <summary>The rate limit from <see cref="TaskOptions.RateLimit"/>, parsed at registration; null for none.</summary>
    public RateLimit? RateLimit { get; }

    /// <summary>The message argument types, in order.</summary>
    public IReadOnlyList<Type> ArgumentTypes => Invoker.ArgumentTypes;

    /// <summary>A readable signature, e.g. <c>tasks.add(x: Int32, y: Int32)</c>.</summary>
    public string Signature => Invoker.Signature;

    internal TaskInvoker Invoker { get; }

    /// <summary>Which arguments are shown as <c>'***'</c> (headers, events, logs); null when none is sensitive.</summary>
    internal ArgumentRedaction? Redaction => Invoker.Redaction;
}
