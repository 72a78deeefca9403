import EventStore
import Foundation
import JSON
import QueryService
import Service
import TestSupport
import Testing

/// Appends events the way ingest and delivery do (the payload contract in the services brief):
/// personal parts sealed under the subject's key from `app.vault`, subjects as keyed hashes.
struct EventWriter {
    let app: ServiceApp
    var tenant = "site1"

    /// Base time of the tests' events, unix milliseconds.
    static let t0: Int64 = 1_700_000_000_000

    /// The subject hash of `text` (a customer id or a lowercased address).
    func subject(_ text: String) async throws -> String {
        let vault = app.vault
        let tenant = self.tenant
        return try await app.store.pool.withConnection { c in try vault.subjectHash(tenant: tenant, subject: text, on: c) }
    }

    /// Seals `personal` under the key of `subjectText`'s subject.
    func seal(_ personal: JSON, for subjectText: String) async throws -> (subject: String, sealed: String, keyID: String) {
        let vault = app.vault
        let tenant = self.tenant
        return try await app.store.pool.withConnection { c in
            let subject = try vault.subjectHash(tenant: tenant, subject: subjectText, on: c)
            let key = try vault.keyForWriting(tenant: tenant, subjectHash: subject, on: c)
            let sealed = try vault.seal(personal, with: key, tenant: tenant)
            return (subject, sealed, key.id.uuidString.lowercased())
        }
    }

    @discardableResult
    func append(stream: String, type: String, data: JSON, keyID: String? = nil) async throws -> Checkpoint {
        var metadata: JSONObject = ["request_id": "test", "actor": .string(tenant)]
        if let keyID { metadata["key_id"] = .string(keyID) }
        let event = NewEvent(
            type: type, data: data, metadata: .object(metadata), keyID: keyID.flatMap(UUID.init(uuidString:)))
        return try await app.store.append(StreamAppend(tenant: tenant, stream: stream, events: [event])).checkpoint
    }

    // MARK: Customers

    /// `customer.upserted`: a sendwithus customer (id = lowercased email) unless `id` is given
    /// (then a customer.io one).
    @discardableResult
    func upsertCustomer(
        email: String?, id: String? = nil, attributes: JSONObject = [:], locale: String? = nil, createdAt: Int64? = nil,
        at ms: Int64
    ) async throws -> Checkpoint {
        let customerID = id ?? email!.lowercased()
        var personal: JSONObject = ["id": .string(customerID)]
        if let email { personal["email"] = .string(email) }
        personal["attributes"] = .object(attributes)
        if let locale { personal["locale"] = .string(locale) }
        if let createdAt { personal["created_at"] = .int64(createdAt) }
        let s = try await seal(.object(personal), for: customerID)
        return try await append(
            stream: "customer-" + s.subject, type: "customer.upserted",
            data: [
                "subject": .string(s.subject), "source": id == nil ? "sendwithus" : "customerio", "occurred_at": .int64(ms),
                "sealed": .string(s.sealed),
            ], keyID: s.keyID)
    }

    /// `customer.deleted`: destroys the keys of the id's and each email's subject, then records
    /// the tombstone naming them.
    @discardableResult
    func deleteCustomer(id: String, emails: [String] = [], at ms: Int64) async throws -> Checkpoint {
        let vault = app.vault
        let tenant = self.tenant
        let texts = [id] + emails.map { $0.lowercased() }
        let subjects: [String] = try await app.store.pool.withConnection { c in
            var out: [String] = []
            for t in texts {
                let s = try vault.subjectHash(tenant: tenant, subject: t, on: c)
                _ = try vault.destroyKey(tenant: tenant, subjectHash: s, on: c)
                if !out.contains(s) { out.append(s) }
            }
            return out
        }
        return try await append(
            stream: "customer-" + subjects[0], type: "customer.deleted",
            data: [
                "subject": .string(subjects[0]), "erased_subjects": .array(subjects.map(JSON.string)),
                "occurred_at": .int64(ms),
            ])
    }

    /// `customer.event_tracked`.
    @discardableResult
    func track(id: String, name: String, data: JSONObject, at ms: Int64) async throws -> Checkpoint {
        let s = try await seal(["id": .string(id), "data": .object(data)], for: id)
        return try await append(
            stream: "customer-" + s.subject, type: "customer.event_tracked",
            data: ["subject": .string(s.subject), "name": .string(name), "occurred_at": .int64(ms), "sealed": .string(s.sealed)],
            keyID: s.keyID)
    }

    // MARK: Messages

    /// A new message identity: (UUID text, `log_<hex>`, hex).
    static func newMessage() -> Message {
        let uuid = UUID().uuidString.lowercased()
        return Message(uuid: uuid, hex: uuid.replacingOccurrences(of: "-", with: ""))
    }

    struct Message: Sendable {
        let uuid: String
        let hex: String
        var logID: String { "log_" + hex }
    }

    /// `message.requested` with the recipient sealed under the recipient address's key.
    @discardableResult
    func request(
        _ m: Message, to address: String, name: String? = "Matt", template: (String, String, String) = ("tem_1", "Welcome", "Version A"),
        brand: String? = nil, owner: String? = nil, emailType: String? = nil, msgDetails: JSONObject? = nil, at ms: Int64
    ) async throws -> Checkpoint {
        var recipient: JSONObject = ["address": .string(address)]
        if let name { recipient["name"] = .string(name) }
        var personal: JSONObject = [
            "recipient": .object(recipient), "cc": [], "bcc": [], "email_data": [:], "headers": [:], "tags": [],
        ]
        if let msgDetails { personal["msg_details"] = .object(msgDetails) }
        let s = try await seal(.object(personal), for: address.lowercased())
        var data: JSONObject = [
            "message_id": .string(m.uuid), "log_id": .string(m.logID), "status": "requested", "occurred_at": .int64(ms),
            "template_id": .string(template.0), "template_name": .string(template.1),
            "template_version": .string(template.2), "locale": "en-US", "recipient_subject": .string(s.subject),
            "sealed": .string(s.sealed),
        ]
        if let brand { data["brand_id"] = .string(brand) }
        if let owner { data["owner_id"] = .string(owner) }
        if let emailType { data["email_type"] = .string(emailType) }
        return try await append(stream: "message-" + m.hex, type: "message.requested", data: .object(data), keyID: s.keyID)
    }

    /// Any other message event (`message.queued`, `message.sent`, `message.provider_event`, …).
    @discardableResult
    func event(
        _ m: Message, _ type: String, status: String, at ms: Int64, message: String? = nil, provider: String? = nil,
        details: JSONObject? = nil
    ) async throws -> Checkpoint {
        var data: JSONObject = [
            "message_id": .string(m.uuid), "log_id": .string(m.logID), "status": .string(status), "occurred_at": .int64(ms),
        ]
        if let message { data["message"] = .string(message) }
        if let provider { data["provider"] = .string(provider) }
        if type == "message.provider_event" {
            data["provider_event_id"] = .string(UUID().uuidString)
            data["details"] = .object(details ?? [:])
        }
        if type == "message.sent" { data["message_id_header"] = .string("<\(m.logID)@test>") }
        return try await append(stream: "message-" + m.hex, type: type, data: .object(data))
    }
}

/// A started query service on a fresh database, with `site1` allowed to use the operator routes.
func startQuery(databaseURL: String? = nil) async throws -> ServiceApp {
    try await QueryService.start(configuration: try queryConfiguration(databaseURL: databaseURL), port: 0)
}

/// A test configuration (a new random master key) with `site1` as an operator site.
func queryConfiguration(databaseURL: String? = nil) throws -> ServiceConfiguration {
    try TestServices.configuration(databaseURL: databaseURL, extra: ["QUERY_OPERATOR_SITES": "site1"])
}

extension ServiceApp {
    /// Clients for the two test tenants.
    var site1: TestHTTPClient { TestHTTPClient(port: port, basicAuth: ("site1", "key1")) }
    var site2: TestHTTPClient { TestHTTPClient(port: port, basicAuth: ("site2", "key2")) }

    /// Waits until every projection includes `token`.
    func caughtUp(_ token: Checkpoint) async throws {
        try await waitForConsistency(token, timeout: .seconds(15))
    }

    /// Every row of the read tables, as text, in a stable order.
    func readTableDump() async throws -> [String] {
        var out: [String] = []
        for (table, order) in [
            ("query_customers", "tenant, subject"), ("query_customer_events", "tenant, position"),
            ("query_logs", "tenant, message_id"), ("query_log_events", "tenant, message_id, position"),
        ] {
            let rows = try await store.pool.execute("SELECT t::text FROM \(table) t ORDER BY \(order)")
            out += rows.rows.map { table + " " + ($0[0] ?? "") }
        }
        return out
    }
}

extension TestHTTPClient {
    func get(_ path: String, headers: [(String, String)] = []) async throws -> Response {
        try await send("GET", path, headers: headers)
    }
}
