import EventStore
import Foundation
import JSON
import Postgres

/// The part of the log projection that keeps `query_scheduled_drips`: a `drip.step_scheduled`
/// adds a row (recipient opened from the sealed part), a `drip.step_cancelled` or any event of
/// the step's message removes it (from then on the message is a log of its own), and an erasure
/// blanks its recipient. Seed 001 counts these "scheduled drips" among a customer's logs.
struct ScheduledDrips {
    static let scheduled = "drip.step_scheduled"
    static let cancelled = "drip.step_cancelled"

    let sealed: SealedPart

    static func handles(_ type: String) -> Bool { type == scheduled || type == cancelled }

    func apply(_ event: RecordedEvent, on connection: PostgresConnection) throws {
        guard let messageID = event.data["message_id"]?.stringValue.flatMap(UUID.init(text:)) else { return }
        let id = messageID.uuidString.lowercased()
        if event.type == Self.cancelled {
            try connection.execute("DELETE FROM query_scheduled_drips WHERE tenant = $1 AND message_id = $2::uuid", [event.tenant, id])
            return
        }
        let personal = try sealed.open(event, on: connection)
        let recipient = personal?["recipient"]?.objectValue
        let address = recipient?["address"]?.stringValue
        let occurred = event.occurredAtMilliseconds
        try connection.execute(
            """
            INSERT INTO query_scheduled_drips (tenant, message_id, position, created, due_at, template_id, recipient_subject,
                recipient_address, recipient_lower, recipient_name)
            SELECT $1, $2::uuid, $3, $4, $5, $6, $7, $8, lower($8), $9
            WHERE NOT EXISTS (SELECT 1 FROM query_log_events WHERE tenant = $1 AND message_id = $2::uuid)
            ON CONFLICT (tenant, message_id) DO NOTHING
            """,
            [
                event.tenant, id, event.position, occurred / 1000, event.data["due_at"]?.int64Value ?? occurred,
                event.data["template_id"]?.stringValue, event.data["recipient_subject"]?.stringValue, address,
                recipient?["name"]?.stringValue,
            ])
    }

    /// The steps whose messages now have events of their own are no longer "scheduled".
    func messagesStarted(tenants: [String], messageIDs: [String], on connection: PostgresConnection) throws {
        guard !messageIDs.isEmpty else { return }
        try connection.execute(
            """
            DELETE FROM query_scheduled_drips d USING unnest($1::text[], $2::uuid[]) AS m(tenant, message_id)
            WHERE d.tenant = m.tenant AND d.message_id = m.message_id
            """, [PostgresArray(tenants), PostgresArray(messageIDs)])
    }

    func erase(tenant: String, subjects: [String], on connection: PostgresConnection) throws {
        try connection.execute(
            """
            UPDATE query_scheduled_drips SET recipient_address = NULL, recipient_lower = NULL, recipient_name = NULL
            WHERE tenant = $1 AND recipient_subject = ANY($2::text[])
            """, [tenant, PostgresArray(subjects)])
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("TRUNCATE query_scheduled_drips")
    }
}
