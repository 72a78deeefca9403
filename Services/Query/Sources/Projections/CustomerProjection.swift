import Domain
import EventStore
import Foundation
import JSON
import Postgres
import Privacy

/// Builds `query_customers` (profiles merged with Domain `CustomerProfile`) and
/// `query_customer_events` (tracked events) from the customer events.
///
/// A delete removes the customer's rows and the tracked events of every erased subject; a
/// later upsert starts a new, empty profile. Events whose key was destroyed are skipped, so a
/// rebuild after an erasure restores nothing.
final class CustomerProjection: QueryProjection {
    let name = "query_customers"
    let sealed: SealedPart
    let activity = ProjectionActivity()

    init(vault: PersonalDataVault) { self.sealed = SealedPart(vault: vault) }

    /// A profile read or changed in this batch, written back at the end (or before a delete).
    private struct Pending {
        var profile: CustomerProfile?
        var dirty = false
    }

    private struct Key: Hashable {
        let tenant: String
        let subject: String
    }

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        defer { activity.didApply(events.count) }
        var pending: [Key: Pending] = [:]
        for event in events {
            switch event.type {
            case EventCatalog.customerUpserted:
                guard let subject = event.data["subject"]?.stringValue,
                    let personal = try sealed.open(event, on: connection),
                    let id = personal["id"]?.textValue
                else { continue }
                let key = Key(tenant: event.tenant, subject: subject)
                if pending[key] == nil { pending[key] = Pending(profile: try load(key, on: connection)) }
                let occurredSeconds = (event.data["occurred_at"]?.int64Value ?? Int64(event.recordedAt * 1000)) / 1000
                let createdAt = personal["created_at"]?.int64Value ?? occurredSeconds
                let current = pending[key]!.profile
                let change = CustomerChange.created(
                    email: personal["email"]?.stringValue, attributes: personal["attributes"]?.objectValue ?? [:],
                    locale: personal["locale"]?.stringValue, at: current == nil ? createdAt : occurredSeconds)
                pending[key] = Pending(profile: CustomerProfile.applying(change, to: current, id: id), dirty: true)
            case EventCatalog.customerDeleted:
                try flush(&pending, on: connection)
                pending.removeAll()
                var subjects = (event.data["erased_subjects"]?.arrayValue ?? []).compactMap(\.stringValue)
                if let s = event.data["subject"]?.stringValue { subjects.append(s) }
                try connection.execute(
                    "DELETE FROM query_customers WHERE tenant = $1 AND subject = ANY($2::text[])",
                    [event.tenant, PostgresArray(subjects)])
                try connection.execute(
                    "DELETE FROM query_customer_events WHERE tenant = $1 AND subject = ANY($2::text[])",
                    [event.tenant, PostgresArray(subjects)])
                // Keys of erased subjects may still sit in this process's cache.
                sealed.vault.forgetCachedKeys()
            case EventCatalog.customerEventTracked:
                guard let subject = event.data["subject"]?.stringValue,
                    let name = event.data["name"]?.stringValue,
                    let personal = try sealed.open(event, on: connection),
                    let id = personal["id"]?.textValue
                else { continue }
                let occurred = event.data["occurred_at"]?.int64Value ?? Int64(event.recordedAt * 1000)
                try connection.execute(
                    """
                    INSERT INTO query_customer_events (tenant, position, subject, customer_id, name, data, occurred_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
                    """,
                    [
                        event.tenant, event.position, subject, id, name,
                        (personal["data"] ?? .object([:])).text, occurred,
                    ])
            default:
                continue
            }
        }
        try flush(&pending, on: connection)
    }

    func reset(on connection: PostgresConnection) throws {
        activity.didReset()
        sealed.vault.forgetCachedKeys()
        try connection.execute("DELETE FROM query_customers")
        try connection.execute("DELETE FROM query_customer_events")
    }

    private func load(_ key: Key, on connection: PostgresConnection) throws -> CustomerProfile? {
        let rows = try connection.execute(
            "SELECT customer_id, email, attributes, locale, created, updated FROM query_customers WHERE tenant = $1 AND subject = $2",
            [key.tenant, key.subject])
        guard let r = rows.rows.first, let id = r[0] else { return nil }
        let attributes = (r[2].flatMap { try? JSON.parse($0) })?.objectValue ?? [:]
        return CustomerProfile(
            id: id, email: r[1], attributes: attributes, locale: r[3], created: r.int64(4) ?? 0, updated: r.int64(5) ?? 0)
    }

    private func flush(_ pending: inout [Key: Pending], on connection: PostgresConnection) throws {
        for (key, p) in pending where p.dirty {
            guard let profile = p.profile else {
                try connection.execute(
                    "DELETE FROM query_customers WHERE tenant = $1 AND subject = $2", [key.tenant, key.subject])
                continue
            }
            try connection.execute(
                """
                INSERT INTO query_customers (tenant, subject, customer_id, email, attributes, locale, created, updated)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (tenant, subject) DO UPDATE SET customer_id = EXCLUDED.customer_id, email = EXCLUDED.email,
                    attributes = EXCLUDED.attributes, locale = EXCLUDED.locale, created = EXCLUDED.created,
                    updated = EXCLUDED.updated
                """,
                [
                    key.tenant, key.subject, profile.id, profile.email, JSON.object(profile.attributes).text,
                    profile.locale, profile.created, profile.updated,
                ])
            pending[key]?.dirty = false
        }
    }
}
