namespace Fennel.Calling;

/// <summary>The result type of a task that returns nothing (Python's <c>None</c>).</summary>
public readonly record struct NoResult;
