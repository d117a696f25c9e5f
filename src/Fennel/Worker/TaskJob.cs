using Fennel.Protocol;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.Worker;

/// <summary>A message that passed the dispatcher: decoded, known, bound, due. What a pool runs.</summary>
internal sealed record TaskJob(Delivery Delivery, TaskMessage Message, TaskDefinition Task, object?[] Arguments);
