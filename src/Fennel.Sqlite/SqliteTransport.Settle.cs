using Fennel.Transport;
using Microsoft.Data.Sqlite;

namespace Fennel.Sqlite;

/// <summary>
/// Settling deliveries. Every statement matches the row id and the lease nonce of the delivery tag, so a holder whose
/// lease lapsed and went to another consumer changes nothing.
/// </summary>
public sealed partial class SqliteTransport
{
    /// <inheritdoc />
    public async Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var tag = SqliteDeliveryTag.Parse(delivery.DeliveryTag);
        var deleted = await _database.WriteAsync(async command =>
        {
            command.CommandText = "DELETE FROM messages WHERE id = $id AND lease_owner = $owner";
            AddTag(command, tag);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (deleted == 0) Log.AckAfterLeaseLost(_logger, tag.Id, delivery.Queue);
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var tag = SqliteDeliveryTag.Parse(delivery.DeliveryTag);
        var released = await _database.WriteAsync(async command =>
        {
            // Given back unstarted: the fetch that leased it does not count as a delivery.
            command.CommandText = """
                UPDATE messages SET lease_owner = NULL, visible_at = $visible_at, delivery_count = MAX(delivery_count - 1, 0)
                WHERE id = $id AND lease_owner = $owner
                """;
            AddTag(command, tag);
            command.Parameters.AddWithValue("$visible_at", notBefore?.ToUnixTimeMilliseconds() ?? 0L);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (released > 0) _published.Pulse();
    }

    /// <inheritdoc />
    public async Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        if (deliveries.Count == 0) return;
        var tags = deliveries.Select(d => SqliteDeliveryTag.Parse(d.DeliveryTag)).ToList();
        await _database.WriteAsync(async command =>
        {
            command.CommandText = "UPDATE messages SET visible_at = $until WHERE id = $id AND lease_owner = $owner";
            command.Parameters.AddWithValue("$until", (_time.GetUtcNow() + lease).ToUnixTimeMilliseconds());
            var id = command.Parameters.Add("$id", SqliteType.Integer);
            var owner = command.Parameters.Add("$owner", SqliteType.Text);
            command.Prepare();
            foreach (var tag in tags)
            {
                id.Value = tag.Id;
                owner.Value = tag.Nonce;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// When the caller's lease lapsed and another consumer holds the message, nothing is recorded: the message is still
    /// in circulation with its new holder, and a dead letter beside it would be a duplicate once requeued.
    /// </remarks>
    public async Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(reason);
        var tag = SqliteDeliveryTag.Parse(delivery.DeliveryTag);
        var moved = await _database.WriteAsync(async command =>
        {
            command.CommandText = """
                INSERT INTO dead_letters (queue, priority, body, reason, dead_lettered_at, delivery_count)
                SELECT queue, priority, body, $reason, $now, delivery_count FROM messages WHERE id = $id AND lease_owner = $owner
                """;
            AddTag(command, tag);
            command.Parameters.AddWithValue("$reason", reason);
            command.Parameters.AddWithValue("$now", NowMs());
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0) return false;
            command.CommandText = "DELETE FROM messages WHERE id = $id AND lease_owner = $owner";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (!moved) Log.DeadLetterAfterLeaseLost(_logger, tag.Id, delivery.Queue, reason);
    }

    private static void AddTag(SqliteCommand command, SqliteDeliveryTag tag)
    {
        command.Parameters.AddWithValue("$id", tag.Id);
        command.Parameters.AddWithValue("$owner", tag.Nonce);
    }
}
