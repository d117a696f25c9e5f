namespace Fennel.Transport;

/// <summary>How kombu's three kinds of exchange match a routing key to a binding key; shared by the transports that route themselves.</summary>
internal static class BroadcastRouting
{
    /// <summary>The kind of the exchanges Celery uses: <c>celery.pidbox</c> fanout, <c>reply.celery.pidbox</c> direct, anything else topic.</summary>
    public static BroadcastExchangeKind KindOf(string exchange) => exchange switch
    {
        "celery.pidbox" => BroadcastExchangeKind.Fanout,
        "reply.celery.pidbox" => BroadcastExchangeKind.Direct,
        _ => BroadcastExchangeKind.Topic,
    };

    /// <summary>
    /// Whether a message with <paramref name="routingKey"/> reaches a subscriber bound with <paramref name="bindingKey"/>:
    /// always on a fanout exchange, on equal keys on a direct one, and by AMQP topic rules on a topic one (words split by
    /// <c>.</c>, <c>*</c> matches one word, <c>#</c> zero or more).
    /// </summary>
    public static bool Matches(BroadcastExchangeKind kind, string bindingKey, string routingKey) => kind switch
    {
        BroadcastExchangeKind.Fanout => true,
        BroadcastExchangeKind.Direct => string.Equals(bindingKey, routingKey, StringComparison.Ordinal),
        _ => TopicMatches(bindingKey.Split('.'), 0, routingKey.Split('.'), 0),
    };

    private static bool TopicMatches(string[] pattern, int p, string[] words, int w)
    {
        while (true)
        {
            if (p == pattern.Length) return w == words.Length;
            if (pattern[p] == "#")
            {
                for (var skip = w; skip <= words.Length; skip++)
                {
                    if (TopicMatches(pattern, p + 1, words, skip)) return true;
                }
                return false;
            }
            if (w == words.Length) return false;
            if (pattern[p] != "*" && !string.Equals(pattern[p], words[w], StringComparison.Ordinal)) return false;
            p++;
            w++;
        }
    }
}

/// <summary>kombu's exchange kinds for broadcast.</summary>
public enum BroadcastExchangeKind
{
    /// <summary>Routing by AMQP topic pattern (<c>celeryev</c>).</summary>
    Topic,

    /// <summary>Every subscriber gets every message (<c>celery.pidbox</c>).</summary>
    Fanout,

    /// <summary>Only subscribers bound with exactly the routing key (<c>reply.celery.pidbox</c>).</summary>
    Direct,
}
