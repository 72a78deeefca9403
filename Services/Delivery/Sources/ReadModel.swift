import Foundation
import JSON
import Postgres

/// A saved template version.
struct TemplateVersionRecord: Sendable {
    var id: String
    var name: String
    var subject: String
    var html: String
    var text: String?
    var locale: String
    var created: Int64

    /// The sendwithus shape; `full` adds the content.
    func json(full: Bool) -> JSON {
        var o: JSONObject = [
            "id": .string(id), "name": .string(name), "locale": .string(locale), "created": .int64(created),
        ]
        if full {
            o["subject"] = .string(subject)
            o["html"] = .string(html)
            o["text"] = text.map(JSON.string) ?? .null
        }
        return .object(o)
    }
}

/// A template with its versions (oldest first).
struct TemplateRecord: Sendable {
    var id: String
    var name: String
    var defaultLocale: String
    var created: Int64
    var versions: [TemplateVersionRecord]

    func json(full: Bool) -> JSON {
        [
            "id": .string(id), "name": .string(name), "locale": .string(defaultLocale), "created": .int64(created),
            "versions": .array(versions.map { $0.json(full: full) }),
        ]
    }
}

/// A customer as delivery needs it for rendering.
struct CustomerRecord: Sendable {
    var attributes: JSONObject
    var locale: String?
}

/// A suppression row.
struct SuppressionRecord: Sendable {
    var addressSubject: String
    var address: String?
    var reason: String
    var source: String
    var created: Int64
}

/// Queries over delivery's read tables, always scoped by tenant.
struct DeliveryReadModel: Sendable {
    let pool: PostgresPool

    func template(tenant: String, id: String) async throws -> TemplateRecord? {
        try await templates(tenant: tenant, id: id).first
    }

    /// Every template of the tenant (or the one with `id`), newest first.
    func templates(tenant: String, id: String? = nil) async throws -> [TemplateRecord] {
        try await pool.withConnection { c in try templates(tenant: tenant, id: id, on: c) }
    }

    /// Every template of the tenant (or the one with `id`), newest first, on `c`.
    func templates(tenant: String, id: String? = nil, on c: PostgresConnection) throws -> [TemplateRecord] {
        let t = try c.execute(
            """
            SELECT template_id, name, default_locale, created_at FROM delivery_templates
            WHERE tenant = $1 AND ($2::text IS NULL OR template_id = $2) ORDER BY created_at DESC, template_id
            """, [tenant, id])
        let v = try c.execute(
            """
            SELECT template_id, version_id, name, subject, html, text, locale, created_at FROM delivery_template_versions
            WHERE tenant = $1 AND ($2::text IS NULL OR template_id = $2) ORDER BY position
            """, [tenant, id])
        var versions: [String: [TemplateVersionRecord]] = [:]
        for r in v.rows {
            versions[r[0] ?? "", default: []].append(
                TemplateVersionRecord(
                    id: r[1] ?? "", name: r[2] ?? "", subject: r[3] ?? "", html: r[4] ?? "", text: r[5],
                    locale: r[6] ?? "", created: r.int64(7) ?? 0))
        }
        return t.rows.map { r in
            TemplateRecord(
                id: r[0] ?? "", name: r[1] ?? "", defaultLocale: r[2] ?? "", created: r.int64(3) ?? 0,
                versions: versions[r[0] ?? ""] ?? [])
        }
    }

    /// The brand's saved body (the `brand.saved` data), or nil.
    func brand(tenant: String, id: String) async throws -> JSONObject? {
        try await pool.withConnection { try brand(tenant: tenant, id: id, on: $0) }
    }

    func brand(tenant: String, id: String, on c: PostgresConnection) throws -> JSONObject? {
        let rows = try c.execute("SELECT body::text FROM delivery_brands WHERE tenant = $1 AND brand_id = $2", [tenant, id])
        guard let text = rows.rows.first?[0] else { return nil }
        return try JSON.parse(Array(text.utf8)).objectValue
    }

    /// The most recently updated customer whose email hashes to `emailSubject`.
    func customer(tenant: String, emailSubject: String, on c: PostgresConnection) throws -> CustomerRecord? {
        let rows = try c.execute(
            """
            SELECT attributes::text, locale FROM delivery_customers WHERE tenant = $1 AND email_subject = $2
            ORDER BY updated DESC LIMIT 1
            """, [tenant, emailSubject])
        guard let r = rows.rows.first else { return nil }
        return CustomerRecord(
            attributes: (try? JSON.parse(Array((r[0] ?? "{}").utf8)))?.objectValue ?? [:], locale: r[1])
    }

    /// The customers whose emails hash to `emailSubjects` (most recently updated wins), by subject.
    func customers(tenant: String, emailSubjects: [String], on c: PostgresConnection) throws -> [String: CustomerRecord] {
        let rows = try c.execute(
            """
            SELECT DISTINCT ON (email_subject) email_subject, attributes::text, locale FROM delivery_customers
            WHERE tenant = $1 AND email_subject = ANY($2::text[]) ORDER BY email_subject, updated DESC
            """, [tenant, PostgresArray(emailSubjects)])
        var out: [String: CustomerRecord] = [:]
        for r in rows.rows {
            out[r[0] ?? ""] = CustomerRecord(
                attributes: (try? JSON.parse(Array((r[1] ?? "{}").utf8)))?.objectValue ?? [:], locale: r[2])
        }
        return out
    }

    /// The suppressions among `subjects`, by subject.
    func suppressions(tenant: String, subjects: [String], on c: PostgresConnection) throws -> [String: SuppressionRecord] {
        let rows = try c.execute(
            """
            SELECT address_subject, address, reason, source, created_at FROM delivery_suppressions
            WHERE tenant = $1 AND address_subject = ANY($2::text[])
            """, [tenant, PostgresArray(subjects)])
        var out: [String: SuppressionRecord] = [:]
        for r in rows.rows {
            out[r[0] ?? ""] = SuppressionRecord(
                addressSubject: r[0] ?? "", address: r[1], reason: r[2] ?? "", source: r[3] ?? "", created: r.int64(4) ?? 0)
        }
        return out
    }

    /// Every suppression of the tenant, newest first.
    func suppressions(tenant: String) async throws -> [SuppressionRecord] {
        let rows = try await pool.execute(
            """
            SELECT address_subject, address, reason, source, created_at FROM delivery_suppressions
            WHERE tenant = $1 ORDER BY created_at DESC, address_subject
            """, [tenant])
        return rows.rows.map { r in
            SuppressionRecord(
                addressSubject: r[0] ?? "", address: r[1], reason: r[2] ?? "", source: r[3] ?? "", created: r.int64(4) ?? 0)
        }
    }
}
