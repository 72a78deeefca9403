import Domain
import EventStore
import Postgres
import Privacy

/// The suppression list (`delivery_suppressions`): one row per suppressed address subject,
/// with the address in clear while its key lives (an erased address stays suppressed, blank).
final class SuppressionProjection: Projection {
    let name = "delivery_suppressions"
    let vault: PersonalDataVault

    init(vault: PersonalDataVault) { self.vault = vault }

    /// The types `apply` acts on (the runner skips the JSON of the others).
    let eventTypes: Set<String>? = [EventCatalog.suppressionAdded, EventCatalog.suppressionLifted]

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        for e in events {
            switch e.type {
            case EventCatalog.suppressionAdded:
                guard let subject = e.string("address_subject") else { continue }
                var address: String?
                if let sealed = e.string("sealed"), let keyID = e.keyID {
                    address = try vault.open(sealed, keyID: keyID, tenant: e.tenant, on: connection)?["address"]?.stringValue
                }
                try connection.execute(
                    """
                    INSERT INTO delivery_suppressions (tenant, address_subject, address, reason, source, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (tenant, address_subject) DO UPDATE SET address = EXCLUDED.address,
                        reason = EXCLUDED.reason, source = EXCLUDED.source, created_at = EXCLUDED.created_at
                    """,
                    [e.tenant, subject, address, e.string("reason") ?? "suppressed", e.string("source") ?? "unknown",
                     e.occurredAtMilliseconds])
            case EventCatalog.suppressionLifted:
                guard let subject = e.string("address_subject") else { continue }
                try connection.execute(
                    "DELETE FROM delivery_suppressions WHERE tenant = $1 AND address_subject = $2", [e.tenant, subject])
            default:
                continue
            }
        }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("DELETE FROM delivery_suppressions")
    }
}
