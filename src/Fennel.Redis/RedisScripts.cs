namespace Fennel.Redis;

/// <summary>
/// The Lua scripts that make each step of a message's life atomic on the server. Every script gets the same first five
/// keys (<see cref="RedisTransport.LeaseKeys"/>): <c>unacked</c>, <c>unacked_index</c>, <c>_fennel.leases</c>,
/// <c>_fennel.dead_letters</c>, <c>_fennel.dead_letters.index</c>; its own keys follow from <c>KEYS[6]</c>.
/// </summary>
/// <remarks>
/// <para>A lease record (<c>_fennel.leases</c>) is <c>nonce|score|deliveries</c>: the nonce of the fetch that holds the
/// message, the <c>unacked_index</c> score that fetch (or its last renewal) wrote, and how often the message was
/// delivered. A caller holds a message while both still match: a lapsed lease that was restored, or a message another
/// consumer (Fennel or Python) fetched since, no longer does, so a stale holder changes nothing.</para>
/// <para>Scores follow kombu: a consumer restores a message once its score is older than now minus the visibility timeout.
/// Fennel writes <c>lease end − visibility timeout</c>, so kombu's rule restores it exactly when the lease lapses.</para>
/// </remarks>
internal static class RedisScripts
{
    private const string Owned = """
        local function owned(tag, nonce)
          local lease = redis.call('HGET', KEYS[3], tag)
          if not lease then return nil end
          local n, s, c = string.match(lease, '^([^|]*)|([^|]*)|(%d+)$')
          if n == nil or n ~= nonce then return nil end
          local current = redis.call('ZSCORE', KEYS[2], tag)
          if not current or current ~= s then return nil end
          return tonumber(c)
        end
        local function unstarted(tag, deliveries)
          if deliveries > 1 then redis.call('HSET', KEYS[3], tag, '||' .. (deliveries - 1)) else redis.call('HDEL', KEYS[3], tag) end
        end

        """;

    /// <summary>
    /// Takes up to ARGV[1] messages from the lists KEYS[6..] in order, recording each in <c>unacked</c> as kombu does and
    /// leasing it to nonce ARGV[3] with score ARGV[2]. ARGV[4] is now (unix seconds), ARGV[5..] the queue of each list.
    /// A message that is not a kombu envelope with a delivery tag cannot be held, so it is dead-lettered here.
    /// Returns <c>{list index, envelope, deliveries, delivery tag}</c> per message; deliveries is 0, and the tag the dead
    /// letter id, for a message dead-lettered here.
    /// </summary>
    public const string Fetch = """
        local max = tonumber(ARGV[1])
        local out = {}
        local taken = 0
        local lists = #KEYS - 5
        for i = 1, lists do
          while taken < max do
            local raw = redis.call('RPOP', KEYS[5 + i])
            if not raw then break end
            taken = taken + 1
            local queue = ARGV[4 + i]
            local ok, envelope = pcall(cjson.decode, raw)
            local tag = nil
            local properties = ok and type(envelope) == 'table' and envelope['properties']
            if type(properties) == 'table' and type(properties['delivery_tag']) == 'string' and properties['delivery_tag'] ~= '' then
              tag = properties['delivery_tag']
            end
            if tag == nil then
              local id = ARGV[3] .. '.' .. taken
              local record = cjson.encode({id = id, queue = queue, body = raw, tag = '', priority = 0, deliveries = 1, at = tonumber(ARGV[4]),
                reason = 'not a kombu message: expected a JSON envelope with properties.delivery_tag'})
              redis.call('HSET', KEYS[4], id, record)
              redis.call('ZADD', KEYS[5], ARGV[4], id)
              out[#out + 1] = {i, raw, 0, id}
            else
              redis.call('ZADD', KEYS[2], ARGV[2], tag)
              redis.call('HSET', KEYS[1], tag, '[' .. raw .. ', "", ' .. cjson.encode(queue) .. ']')
              local deliveries = 1
              local previous = redis.call('HGET', KEYS[3], tag)
              if previous then
                deliveries = (tonumber(string.match(previous, '(%d+)$')) or 0) + 1
              else
                local headers = envelope['headers']
                local info = properties['delivery_info']
                if (type(headers) == 'table' and headers['redelivered'] == true) or (type(info) == 'table' and info['redelivered'] == true) then
                  deliveries = 2
                end
              end
              redis.call('HSET', KEYS[3], tag, ARGV[3] .. '|' .. redis.call('ZSCORE', KEYS[2], tag) .. '|' .. deliveries)
              out[#out + 1] = {i, raw, deliveries, tag}
            end
          end
        end
        return out
        """;

    /// <summary>
    /// Settles messages for good. ARGV: tag and nonce pairs. Returns one 1 or 0 per pair, 0 where the caller no longer
    /// held the message.
    /// </summary>
    public const string Ack = Owned + """
        local done = {}
        for i = 1, #ARGV, 2 do
          if owned(ARGV[i], ARGV[i + 1]) then
            redis.call('ZREM', KEYS[2], ARGV[i])
            redis.call('HDEL', KEYS[1], ARGV[i])
            redis.call('HDEL', KEYS[3], ARGV[i])
            done[#done + 1] = 1
          else
            done[#done + 1] = 0
          end
        end
        return done
        """;

    /// <summary>
    /// Gives a message back unstarted at the consuming end of list KEYS[6], not counting the delivery.
    /// ARGV: tag, nonce, envelope. Returns 1 or 0.
    /// </summary>
    public const string Release = Owned + """
        local deliveries = owned(ARGV[1], ARGV[2])
        if not deliveries then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('RPUSH', KEYS[6], ARGV[3])
        unstarted(ARGV[1], deliveries)
        return 1
        """;

    /// <summary>
    /// Parks a held message until it is due: it stays in <c>unacked</c> with score ARGV[3] (due − visibility timeout), so
    /// any consumer, Fennel or kombu, restores it when due. Indexed in KEYS[6] (the queue's delayed set).
    /// ARGV: tag, nonce, score. Returns 1 or 0.
    /// </summary>
    public const string Park = Owned + """
        local deliveries = owned(ARGV[1], ARGV[2])
        if not deliveries then return 0 end
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
        redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
        unstarted(ARGV[1], deliveries)
        return 1
        """;

    /// <summary>Extends leases. ARGV: score, then tag and nonce pairs. Returns how many were still held.</summary>
    public const string Renew = Owned + """
        local renewed = 0
        for i = 2, #ARGV, 2 do
          local deliveries = owned(ARGV[i], ARGV[i + 1])
          if deliveries then
            redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[i])
            redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1] .. '|' .. redis.call('ZSCORE', KEYS[2], ARGV[i]) .. '|' .. deliveries)
            renewed = renewed + 1
          end
        end
        return renewed
        """;

    /// <summary>
    /// Moves a message to the dead letters: one the caller holds (ARGV[6] = <c>held</c>, ARGV[2] its nonce), or a lapsed
    /// <c>unacked</c> entry that cannot be restored — unreadable, or routed to no queue — (ARGV[6] = <c>lapsed</c>, ARGV[2]
    /// the restore ceiling its score must still be at or below). ARGV: tag, nonce or ceiling, dead letter id, record (JSON),
    /// now, mode. Returns 1, or 0 when the message was no longer the caller's to move.
    /// </summary>
    public const string DeadLetter = Owned + """
        local movable
        if ARGV[6] == 'lapsed' then
          local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
          movable = score and tonumber(score) <= tonumber(ARGV[2])
        else
          movable = owned(ARGV[1], ARGV[2])
        end
        if not movable then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('HDEL', KEYS[3], ARGV[1])
        redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
        redis.call('ZADD', KEYS[5], ARGV[5], ARGV[3])
        return 1
        """;

    /// <summary>
    /// Restores one lapsed or due message to the consuming end of the lists KEYS[7..] (kombu pushes to every queue the
    /// exchange routes to), if its score is still at or below ARGV[2]; KEYS[6] is its queue's delayed set.
    /// ARGV: tag, ceiling, envelope ('' when <c>unacked</c> has no entry: the index entry is an orphan and is dropped).
    /// Returns 1 when restored or dropped, 0 when someone else settled, renewed or restored it first.
    /// </summary>
    public const string Restore = """
        local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
        if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
        if ARGV[3] == '' then
          if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
          redis.call('ZREM', KEYS[2], ARGV[1])
          return 1
        end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        local parked = redis.call('ZREM', KEYS[6], ARGV[1]) == 1
        -- A lapsed lease of a consumer that kept no lease record (kombu's) was a delivery: count it.
        if not parked and redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then redis.call('HSET', KEYS[3], ARGV[1], '||1') end
        for i = 7, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[3]) end
        return 1
        """;

    private const string DueParked = """
        local function drop_stale_parked(ceiling)
          local due = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', ceiling, 'WITHSCORES')
          for i = 1, #due, 2 do
            if redis.call('ZSCORE', KEYS[2], due[i]) ~= due[i + 1] then redis.call('ZREM', KEYS[6], due[i]) end
          end
        end

        """;

    /// <summary>
    /// How many messages of a queue wait: its lists KEYS[7..] plus its parked messages KEYS[6] (parked entries that another
    /// consumer restored meanwhile are dropped first). ARGV: ceiling (now − visibility timeout).
    /// </summary>
    public const string Length = DueParked + """
        drop_stale_parked(ARGV[1])
        local total = redis.call('ZCARD', KEYS[6])
        for i = 7, #KEYS do total = total + redis.call('LLEN', KEYS[i]) end
        return total
        """;

    /// <summary>Deletes every waiting message of a queue: its lists KEYS[7..] and its parked messages KEYS[6]. ARGV: ceiling.</summary>
    public const string Purge = DueParked + """
        drop_stale_parked(ARGV[1])
        local total = 0
        for i = 7, #KEYS do
          total = total + redis.call('LLEN', KEYS[i])
          redis.call('DEL', KEYS[i])
        end
        local parked = redis.call('ZRANGE', KEYS[6], 0, -1)
        for _, tag in ipairs(parked) do
          redis.call('ZREM', KEYS[2], tag)
          redis.call('HDEL', KEYS[1], tag)
          redis.call('HDEL', KEYS[3], tag)
          total = total + 1
        end
        redis.call('DEL', KEYS[6])
        return total
        """;

    /// <summary>
    /// Puts a dead letter back at the publishing end of list KEYS[6] with a fresh delivery count.
    /// ARGV: dead letter id, envelope, delivery tag. Returns 1, or 0 when the dead letter is gone.
    /// </summary>
    public const string Requeue = """
        if redis.call('HDEL', KEYS[4], ARGV[1]) == 0 then return 0 end
        redis.call('ZREM', KEYS[5], ARGV[1])
        if ARGV[3] ~= '' then redis.call('HDEL', KEYS[3], ARGV[3]) end
        redis.call('LPUSH', KEYS[6], ARGV[2])
        return 1
        """;
}
