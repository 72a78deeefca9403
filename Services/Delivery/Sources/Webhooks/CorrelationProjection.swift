import Domain
import EventStore
import Foundation
import JSON
import Postgres

/// Keeps `webhook_correlation` (which log each of our message ids, Message-ID headers and
/// provider message ids names) from `message.requested`, `message.triggered` and `message.sent`,
/// and `webhook_pending` from `webhook.unmatched`. Whenever a log and a pending event meet, in
/// whichever order they were committed, the pending row gets the log's `message_hex`: the
/// ``PendingEventAttacher`` then appends it to the log's stream.
final class CorrelationProjection: Projection {
    let name = "delivery_webhook_correlation"

    static let messageTypes: Set<String> = [
        EventCatalog.messageRequested, EventCatalog.messageTriggered, EventCatalog.messageSent,
    ]

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        for event in events {
            if Self.messageTypes.contains(event.type) {
                try applyMessage(event, on: connection)
            } else if event.type == WebhookEvents.unmatched {
                try applyUnmatched(event, on: connection)
            }
        }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("DELETE FROM webhook_correlation")
        try connection.execute("DELETE FROM webhook_pending")
    }

    private func applyMessage(_ event: RecordedEvent, on c: PostgresConnection) throws {
        let streamHex = event.stream.hasPrefix("message-") ? String(event.stream.dropFirst("message-".count)) : nil
        guard let hex = event.data["log_id"]?.stringValue.flatMap(CorrelationKeys.hex(ofLogID:))
            ?? streamHex.flatMap(CorrelationKeys.hex(ofLogID:))
        else { return }
        let keys = CorrelationKeys(
            logID: nil, messageIDHeader: event.data["message_id_header"]?.stringValue,
            providerMessageID: event.data["provider_message_id"]?.stringValue)
        try c.execute(
            """
            INSERT INTO webhook_correlation (tenant, message_hex, log_id, message_id_header, provider_message_id)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (tenant, message_hex) DO UPDATE SET
                message_id_header = COALESCE(EXCLUDED.message_id_header, webhook_correlation.message_id_header),
                provider_message_id = COALESCE(EXCLUDED.provider_message_id, webhook_correlation.provider_message_id)
            """,
            [event.tenant, hex, "log_" + hex, keys.messageIDHeader, keys.providerMessageID])
        // Pending events this log now matches.
        try c.execute(
            """
            UPDATE webhook_pending SET message_hex = $2
             WHERE tenant = $1 AND message_hex IS NULL
               AND (log_hex = $2 OR header_hex = $2
                    OR ($3::text IS NOT NULL AND message_id_header = $3)
                    OR ($4::text IS NOT NULL AND provider_message_id = $4))
            """,
            [event.tenant, hex, keys.messageIDHeader, keys.providerMessageID])
    }

    private func applyUnmatched(_ event: RecordedEvent, on c: PostgresConnection) throws {
        guard let pending = ProviderEventRecord.Pending(event.data) else { return }
        let keys = pending.keys
        let log = try keys.match(in: CorrelationLookup.candidates(tenant: event.tenant, keys: [keys], on: c))
        try c.execute(
            """
            INSERT INTO webhook_pending (tenant, event_id, provider, event_data, log_hex, header_hex, message_id_header,
                                         provider_message_id, message_hex)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (tenant, event_id) DO NOTHING
            """,
            [
                event.tenant, pending.eventID, pending.provider, JSON.object(pending.logEventData).text, keys.logHex,
                keys.headerHex, keys.messageIDHeader, keys.providerMessageID, log?.messageHex,
            ])
    }
}
