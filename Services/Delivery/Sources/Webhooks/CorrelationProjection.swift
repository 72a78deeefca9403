import Domain
import EventStore
import Foundation
import JSON
import Postgres
import Webhooks

/// Keeps `webhook_correlation` (which log each provider message id names) from `message.sent`,
/// and `webhook_pending` from `webhook.unmatched`. Whenever a log and a pending event meet, in
/// whichever order they were committed, the pending row gets the log's `message_hex`: the
/// ``PendingEventAttacher`` then appends it to the log's stream.
///
/// Only a provider's message id needs a row: a log's id and the hex in our `Message-ID` name
/// the log's stream, which ``CorrelationLookup`` finds in the event table itself. (A row for
/// every requested log, updated at the send, cost an INSERT and then a new row version with an
/// entry in each index, for every message.) `message.requested` and `message.triggered` still
/// come here, to attach pending events that named the log before it existed.
final class CorrelationProjection: Projection {
    static let projectionName = "delivery_webhook_correlation"
    let name = CorrelationProjection.projectionName

    static let messageTypes: Set<String> = [
        EventCatalog.messageRequested, EventCatalog.messageTriggered, EventCatalog.messageSent,
    ]

    /// One log's keys merged over the batch's message events (a later provider id wins, as the
    /// row's upsert would). Our Message-ID is not kept: it is `<log_<hex>@host>`, matched by its
    /// hex.
    private struct LogKeys {
        var tenant: String
        var hex: String
        var providerID: String?
        /// When the newest of the batch's events naming a provider id was recorded (unix
        /// milliseconds): the row's `sent_at`, which `WebhookRetention` ages it by.
        var sentAtMilliseconds: Int64 = 0
    }

    /// The types `apply` acts on (the runner skips the JSON of the others).
    let eventTypes: Set<String>? = CorrelationProjection.messageTypes.union([WebhookEvents.unmatched])

    /// Unmatched events first (in order), then one upsert of every log of the batch, then, only
    /// when some pending event waits for a log, the per-log attach. Applying the unmatched
    /// events first is equivalent: a pending row and a log meet whichever is written first.
    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        var order: [String] = []
        var logs: [String: LogKeys] = [:]
        for event in events {
            if Self.messageTypes.contains(event.type) {
                guard let hex = Self.messageHex(event) else { continue }
                let key = event.tenant + "\u{0}" + hex
                let providerID = ProviderEvent.normalizedMessageID(event.data["provider_message_id"]?.stringValue)
                if logs[key] == nil {
                    order.append(key)
                    logs[key] = LogKeys(tenant: event.tenant, hex: hex)
                }
                if let providerID {
                    logs[key]?.providerID = providerID
                    logs[key]?.sentAtMilliseconds = event.recordedAtMilliseconds
                }
            } else if event.type == WebhookEvents.unmatched {
                try applyUnmatched(event, on: connection)
            }
        }
        guard !order.isEmpty else { return }
        let logsOfBatch = order.compactMap { logs[$0] }
        let rows = logsOfBatch.filter { $0.providerID != nil }
        if !rows.isEmpty {
            try connection.execute(
                """
                INSERT INTO webhook_correlation (tenant, message_hex, log_id, provider_message_id, sent_at)
                SELECT u.tenant, u.hex, 'log_' || u.hex, u.provider_id, to_timestamp(u.sent_ms / 1000.0)
                FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(tenant, hex, provider_id, sent_ms)
                ON CONFLICT (tenant, message_hex) DO UPDATE
                    SET provider_message_id = EXCLUDED.provider_message_id, sent_at = EXCLUDED.sent_at
                """,
                [PostgresBinaryArray(texts: rows.map(\.tenant)), PostgresBinaryArray(texts: rows.map(\.hex)),
                 PostgresBinaryArray(texts: rows.map(\.providerID)), PostgresBinaryArray(int64s: rows.map(\.sentAtMilliseconds))])
        }
        // Pending events these logs now match (usually none wait: one cheap look first).
        guard try !connection.execute("SELECT 1 FROM webhook_pending WHERE message_hex IS NULL LIMIT 1").isEmpty else { return }
        for log in logsOfBatch {
            try connection.execute(
                """
                UPDATE webhook_pending SET message_hex = $2
                 WHERE tenant = $1 AND message_hex IS NULL
                   AND (log_hex = $2 OR header_hex = $2 OR ($3::text IS NOT NULL AND provider_message_id = $3))
                """,
                [log.tenant, log.hex, log.providerID])
        }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("DELETE FROM webhook_correlation")
        try connection.execute("DELETE FROM webhook_pending")
    }

    /// The message hex of a message event: its `log_id`, else its stream's name. The usual
    /// `log_<32 lowercase hex>` is taken as is; anything else goes through the full parser.
    static func messageHex(_ event: RecordedEvent) -> String? {
        if let logID = event.data["log_id"]?.stringValue {
            if logID.hasPrefix("log_"), isLowercaseHex32(logID.utf8.dropFirst(4)) { return String(logID.dropFirst(4)) }
            if let hex = CorrelationKeys.hex(ofLogID: logID) { return hex }
        }
        guard let streamHex = EventCatalog.messageHex(ofStream: event.stream) else { return nil }
        if isLowercaseHex32(streamHex.utf8) { return String(streamHex) }
        return CorrelationKeys.hex(ofLogID: String(streamHex))
    }

    private static func isLowercaseHex32<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        bytes.count == 32 && bytes.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    private func applyUnmatched(_ event: RecordedEvent, on c: PostgresConnection) throws {
        guard let pending = ProviderEventRecord.Pending(event.data) else { return }
        let keys = pending.keys
        let log = try keys.match(in: CorrelationLookup.candidates(tenant: event.tenant, keys: [keys], on: c))
        try c.execute(
            """
            INSERT INTO webhook_pending (tenant, event_id, provider, event_data, log_hex, header_hex, message_id_header,
                                         provider_message_id, message_hex, received_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_timestamp($10::bigint / 1000.0))
            ON CONFLICT (tenant, event_id) DO NOTHING
            """,
            [
                event.tenant, pending.eventID, pending.provider, JSON.object(pending.logEventData).text, keys.logHex,
                keys.headerHex, keys.messageIDHeader, keys.providerMessageID, log?.messageHex,
                event.recordedAtMilliseconds,
            ])
    }
}
