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
/// One part of `QueryProjections`, applied in its transaction.
final class CustomerProjection: Sendable {
    let sealed: SealedPart

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

    /// A tracked event waiting for the batch's one INSERT.
    private struct TrackedRow {
        let tenant: String
        let position: Int64
        let subject: String
        let customerID: String
        let name: String
        let data: String
        let occurredAt: Int64
    }

    /// Statements per batch, not per event: the profiles the batch touches are read with one
    /// SELECT, written back with one upsert, and tracked events go in with one INSERT. A delete
    /// in the batch writes out what came before it first, then later events read afresh.
    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        var pending: [Key: Pending] = [:]
        var tracked: [TrackedRow] = []
        var prefetched = try prefetchProfiles(events, on: connection)
        for event in events {
            switch event.type {
            case EventCatalog.customerUpserted:
                guard let subject = event.data["subject"]?.stringValue,
                    let personal = try sealed.open(event, on: connection),
                    let id = personal["id"]?.textValue
                else { continue }
                let key = Key(tenant: event.tenant, subject: subject)
                if pending[key] == nil {
                    let known = prefetched.removeValue(forKey: key)
                    pending[key] = Pending(profile: try known ?? load(key, on: connection))
                }
                let occurredSeconds = event.occurredAtMilliseconds / 1000
                let createdAt = personal["created_at"]?.int64Value ?? occurredSeconds
                let current = pending[key]!.profile
                let change = CustomerChange.created(
                    email: personal["email"]?.stringValue, attributes: personal["attributes"]?.objectValue ?? [:],
                    locale: personal["locale"]?.stringValue, at: current == nil ? createdAt : occurredSeconds)
                pending[key] = Pending(profile: CustomerProfile.applying(change, to: current, id: id), dirty: true)
            case EventCatalog.customerDeleted:
                try flush(&pending, on: connection)
                try insert(tracked, on: connection)
                pending.removeAll()
                tracked.removeAll()
                // What was read before the delete may be gone now: read afresh from here on.
                prefetched.removeAll()
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
                let occurred = event.occurredAtMilliseconds
                tracked.append(
                    TrackedRow(
                        tenant: event.tenant, position: event.position, subject: subject, customerID: id, name: name,
                        data: (personal["data"] ?? .object([:])).text, occurredAt: occurred))
            default:
                continue
            }
        }
        try flush(&pending, on: connection)
        try insert(tracked, on: connection)
    }

    /// The stored profiles of every subject the batch upserts, in one SELECT. A subject with
    /// no row maps to `.some(nil)`: known absent.
    private func prefetchProfiles(_ events: [RecordedEvent], on connection: PostgresConnection) throws -> [Key:
        CustomerProfile?]
    {
        var keys: [Key] = []
        var seen = Set<Key>()
        for event in events where event.type == EventCatalog.customerUpserted {
            guard let subject = event.data["subject"]?.stringValue else { continue }
            let key = Key(tenant: event.tenant, subject: subject)
            if seen.insert(key).inserted { keys.append(key) }
        }
        guard !keys.isEmpty else { return [:] }
        var out: [Key: CustomerProfile?] = [:]
        for key in keys { out[key] = .some(nil) }
        let rows = try connection.execute(
            """
            SELECT c.tenant, c.subject, \(Self.profileColumns) FROM query_customers c
            JOIN unnest($1::text[], $2::text[]) AS u(tenant, subject) ON c.tenant = u.tenant AND c.subject = u.subject
            """, [PostgresArray(keys.map(\.tenant)), PostgresArray(keys.map(\.subject))])
        for r in rows.rows {
            guard let tenant = r[0], let subject = r[1] else { continue }
            out[Key(tenant: tenant, subject: subject)] = .some(Self.profile(r, offset: 2))
        }
        return out
    }

    private func insert(_ rows: [TrackedRow], on connection: PostgresConnection) throws {
        guard !rows.isEmpty else { return }
        try connection.execute(
            """
            INSERT INTO query_customer_events (tenant, position, subject, customer_id, name, data, occurred_at)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
            ON CONFLICT DO NOTHING
            """,
            [
                PostgresArray(rows.map(\.tenant)), PostgresArray(rows.map(\.position)), PostgresArray(rows.map(\.subject)),
                PostgresArray(rows.map(\.customerID)), PostgresArray(rows.map(\.name)), PostgresArray(rows.map(\.data)),
                PostgresArray(rows.map(\.occurredAt)),
            ])
    }

    func reset(on connection: PostgresConnection) throws {
        sealed.vault.forgetCachedKeys()
        try connection.execute("TRUNCATE query_customers, query_customer_events")
    }

    static let profileColumns = "c.customer_id, c.email, c.attributes, c.locale, c.created, c.updated"

    private func load(_ key: Key, on connection: PostgresConnection) throws -> CustomerProfile? {
        let rows = try connection.execute(
            "SELECT \(Self.profileColumns) FROM query_customers c WHERE c.tenant = $1 AND c.subject = $2",
            [key.tenant, key.subject])
        return rows.rows.first.flatMap { Self.profile($0, offset: 0) }
    }

    private static func profile(_ r: PostgresRow, offset o: Int) -> CustomerProfile? {
        guard let id = r[o] else { return nil }
        let attributes = (r[o + 2].flatMap { try? JSON.parse($0) })?.objectValue ?? [:]
        return CustomerProfile(
            id: id, email: r[o + 1], attributes: attributes, locale: r[o + 3], created: r.int64(o + 4) ?? 0,
            updated: r.int64(o + 5) ?? 0)
    }

    /// Writes the changed profiles back with one upsert.
    private func flush(_ pending: inout [Key: Pending], on connection: PostgresConnection) throws {
        var keys: [Key] = []
        var profiles: [CustomerProfile] = []
        for (key, p) in pending where p.dirty {
            pending[key]?.dirty = false
            guard let profile = p.profile else {
                try connection.execute(
                    "DELETE FROM query_customers WHERE tenant = $1 AND subject = $2", [key.tenant, key.subject])
                continue
            }
            keys.append(key)
            profiles.append(profile)
        }
        guard !keys.isEmpty else { return }
        try connection.execute(
            """
            INSERT INTO query_customers (tenant, subject, customer_id, email, attributes, locale, created, updated)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                $8::bigint[])
            ON CONFLICT (tenant, subject) DO UPDATE SET customer_id = EXCLUDED.customer_id, email = EXCLUDED.email,
                attributes = EXCLUDED.attributes, locale = EXCLUDED.locale, created = EXCLUDED.created,
                updated = EXCLUDED.updated
            """,
            [
                PostgresArray(keys.map(\.tenant)), PostgresArray(keys.map(\.subject)), PostgresArray(profiles.map(\.id)),
                PostgresArray(profiles.map(\.email)), PostgresArray(profiles.map { JSON.object($0.attributes).text }),
                PostgresArray(profiles.map(\.locale)), PostgresArray(profiles.map(\.created)),
                PostgresArray(profiles.map(\.updated)),
            ])
    }
}
