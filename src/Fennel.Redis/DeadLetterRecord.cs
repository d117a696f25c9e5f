using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fennel.Redis;

/// <summary>A dead letter as stored in <c>_fennel.dead_letters</c> (JSON, snake_case; the fetch script writes the same shape).</summary>
/// <param name="Id">The dead letter's id.</param>
/// <param name="Queue">The queue it came from.</param>
/// <param name="Body">The message exactly as it was in the list.</param>
/// <param name="Reason">Why.</param>
/// <param name="Tag">kombu's delivery tag ('' for a message that had none).</param>
/// <param name="Priority">The priority step of the list it came from, where a requeue puts it back.</param>
/// <param name="Deliveries">How often it had been delivered.</param>
/// <param name="At">When, in unix seconds.</param>
internal sealed record DeadLetterRecord(string Id, string Queue, string Body, string Reason, string Tag, int Priority, int Deliveries, double At)
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowReadingFromString };
}
