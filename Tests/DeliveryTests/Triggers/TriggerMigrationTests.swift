@testable import DeliveryService
import EventStore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Trigger schema migrations")
struct TriggerMigrationTests {
    @Test("migration 3 blanks the address of final rows and keeps it where a row still has work")
    func finalRowsLoseTheirAddress() throws {
        let connection = try database(migratedBefore: 3, component: TriggerSchema.component, migrations: TriggerSchema.migrations)
        defer { connection.close() }
        // Final rows (payload already blanked), work still to do, and a row DripScheduler has
        // marked cancelled whose event is not applied yet (it may still go back to pending).
        let rows: [(String, String, Bool)] = [
            ("sent", "a@example.com", false), ("cancelled", "b@example.com", false), ("pending", "c@example.com", true),
            ("cancelling", "d@example.com", true), ("cancelled", "e@example.com", true),
        ]
        for (state, address, hasPayload) in rows {
            try connection.execute(
                """
                INSERT INTO scheduled_sends (message_id, tenant, kind, due_at, state, recipient_address, payload, cause_event_id)
                VALUES ($1, 'site1', 'drip', 0, $2, $3, $4::json, $5)
                """, [UUID(), state, address, hasPayload ? "{}" : nil, UUID()])
        }
        try Migrator.migrate(connection, component: TriggerSchema.component, migrations: TriggerSchema.migrations)
        let after = try connection.execute("SELECT recipient_address FROM scheduled_sends ORDER BY state, recipient_address")
        // cancelled (b, blanked; e, kept), cancelling d, pending c, sent (a, blanked)
        #expect(after.rows.map { $0[0] ?? "-" } == ["", "e@example.com", "d@example.com", "c@example.com", ""])
    }
}
