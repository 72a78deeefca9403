import Domain
import EventStore
import JSON
import Postgres
import Privacy

/// Customer profiles for rendering and locale fallback (`delivery_customers`), folded with
/// Domain `CustomerProfile` from `customer.upserted` after opening the sealed part. Rows are
/// found by `email_subject` (keyed hash of the lowercased email), which equals a message's
/// `recipient_subject`. An erasure deletes the customer's rows and blanks suppressed addresses.
final class CustomerProjection: Projection {
    let name = "delivery_customers"
    let vault: PersonalDataVault

    init(vault: PersonalDataVault) { self.vault = vault }

    /// The types `apply` acts on (the runner skips the JSON of the others).
    let eventTypes: Set<String>? = [EventCatalog.customerUpserted, EventCatalog.customerDeleted]

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        for e in events {
            switch e.type {
            case EventCatalog.customerUpserted: try upsert(e, on: connection)
            case EventCatalog.customerDeleted: try delete(e, on: connection)
            default: continue
            }
        }
    }

    private func upsert(_ e: RecordedEvent, on c: PostgresConnection) throws {
        guard let subject = e.string("subject"), let sealed = e.string("sealed"), let keyID = e.keyID,
            let personal = try vault.open(sealed, keyID: keyID, tenant: e.tenant, on: c),
            let id = personal["id"]?.stringValue
        else { return }
        let at = e.occurredAtMilliseconds / 1000
        let row = try c.execute(
            "SELECT customer_id, email, attributes::text, locale, created, updated FROM delivery_customers WHERE tenant = $1 AND subject = $2",
            [e.tenant, subject])
        var current: CustomerProfile?
        if let r = row.rows.first {
            current = CustomerProfile(
                id: r[0] ?? id, email: r[1], attributes: (try? JSON.parse(Array((r[2] ?? "{}").utf8)))?.objectValue ?? [:],
                locale: r[3], created: r.int64(4) ?? at, updated: r.int64(5) ?? at)
        }
        let change = CustomerChange.updated(
            email: personal["email"]?.stringValue, attributes: personal["attributes"]?.objectValue ?? [:],
            locale: personal["locale"]?.stringValue, at: at)
        guard let profile = CustomerProfile.applying(change, to: current, id: id) else { return }
        let emailSubject = try profile.email.map { try vault.subjectHash(tenant: e.tenant, subject: $0.lowercased(), on: c) }
        try c.execute(
            """
            INSERT INTO delivery_customers (tenant, subject, customer_id, email, email_subject, attributes, locale, created, updated)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (tenant, subject) DO UPDATE SET customer_id = EXCLUDED.customer_id, email = EXCLUDED.email,
                email_subject = EXCLUDED.email_subject, attributes = EXCLUDED.attributes, locale = EXCLUDED.locale,
                created = EXCLUDED.created, updated = EXCLUDED.updated
            """,
            [e.tenant, subject, profile.id, profile.email, emailSubject, JSON.object(profile.attributes).text, profile.locale,
             profile.created, profile.updated])
    }

    private func delete(_ e: RecordedEvent, on c: PostgresConnection) throws {
        guard let subject = e.string("subject") else { return }
        let erased = (e.data["erased_subjects"]?.arrayValue ?? []).compactMap(\.stringValue)
        try c.execute(
            """
            DELETE FROM delivery_customers
            WHERE tenant = $1 AND (subject = $2 OR subject = ANY($3::text[]) OR email_subject = ANY($3::text[]))
            """, [e.tenant, subject, PostgresArray(erased)])
        try c.execute(
            "UPDATE delivery_suppressions SET address = NULL WHERE tenant = $1 AND address_subject = ANY($2::text[])",
            [e.tenant, PostgresArray(erased)])
    }

    func reset(on connection: PostgresConnection) throws {
        vault.forgetCachedKeys()
        try connection.execute("DELETE FROM delivery_customers")
    }
}
