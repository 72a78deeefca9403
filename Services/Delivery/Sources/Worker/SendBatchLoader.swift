import Domain
import Foundation
import JSON
import Postgres
import Privacy

/// What composing one message needs from the database.
struct LoadedMessage: Sendable {
    /// The data of the latest `message.requested` or `message.triggered` of the stream.
    var request: JSON
    /// The opened `sealed` part; nil when the recipient was erased.
    var personal: JSON?
    var customer: CustomerRecord?
    var suppression: SuppressionRecord?
    var brand: JSONObject?

    func string(_ key: String) -> String? { request[key]?.stringValue }
}

/// Loads what a batch of sends needs on one pooled connection, in a fixed number of statements
/// whatever the batch size: the request events of every stream at once (those this process
/// accepted are remembered, `RecentRequests`, and not read), then per tenant the customers and
/// suppressions of all recipients, then each brand named once.
struct SendBatchLoader: Sendable {
    let vault: PersonalDataVault
    let readModel: DeliveryReadModel
    let recent: RecentRequests

    /// The loaded messages by key (`DueMessage.key`); a message without a request event is absent.
    func load(_ batch: [DueMessage], on c: PostgresConnection) throws -> [String: LoadedMessage] {
        guard !batch.isEmpty else { return [:] }
        var requests: [String: (tenant: String, data: JSON, metadata: JSON)] = [:]
        var unread: [DueMessage] = []
        for due in batch {
            if let event = recent.take(due.key) {
                requests[due.key] = (due.tenant, event.data, event.metadata)
            } else {
                unread.append(due)
            }
        }
        if !unread.isEmpty { try read(unread, into: &requests, on: c) }
        return try complete(requests, on: c)
    }

    /// The latest request event of each message's stream.
    private func read(
        _ batch: [DueMessage], into requests: inout [String: (tenant: String, data: JSON, metadata: JSON)],
        on c: PostgresConnection
    ) throws {
        let rows = try c.execute(
            """
            SELECT DISTINCT ON (e.tenant, e.stream) e.tenant, e.stream, e.data, e.metadata
            FROM events e JOIN unnest($1::text[], $2::text[]) AS k(tenant, stream)
              ON e.tenant = k.tenant AND e.stream = k.stream
            WHERE e.type = ANY($3::text[])
            ORDER BY e.tenant, e.stream, e.version DESC
            """,
            [PostgresArray(batch.map(\.tenant)),
             PostgresArray(batch.map { EventCatalog.messageStream(messageHex: $0.messageHex) }),
             PostgresArray([EventCatalog.messageRequested, EventCatalog.messageTriggered])])
        for r in rows.rows {
            let tenant = r[0] ?? ""
            guard let hex = EventCatalog.messageHex(ofStream: r[1] ?? "") else { continue }
            requests[DueMessage.key(tenant: tenant, messageHex: String(hex))] = (
                tenant, try JSON.parse(Array((r[2] ?? "null").utf8)), try JSON.parse(Array((r[3] ?? "null").utf8))
            )
        }
    }

    /// The customers, suppressions, brands and personal parts of the requests.
    private func complete(
        _ requests: [String: (tenant: String, data: JSON, metadata: JSON)], on c: PostgresConnection
    ) throws -> [String: LoadedMessage] {

        var subjectsByTenant: [String: Set<String>] = [:]
        var brandKeys: Set<[String]> = []
        for (tenant, data, _) in requests.values {
            if let subject = data["recipient_subject"]?.stringValue { subjectsByTenant[tenant, default: []].insert(subject) }
            if let brand = data["brand_id"]?.stringValue { brandKeys.insert([tenant, brand]) }
        }
        var customers: [String: [String: CustomerRecord]] = [:]
        var suppressions: [String: [String: SuppressionRecord]] = [:]
        for (tenant, subjects) in subjectsByTenant {
            customers[tenant] = try readModel.customers(tenant: tenant, emailSubjects: Array(subjects), on: c)
            suppressions[tenant] = try readModel.suppressions(tenant: tenant, subjects: Array(subjects), on: c)
        }
        var brands: [[String]: JSONObject] = [:]
        for key in brandKeys {
            brands[key] = try readModel.brand(tenant: key[0], id: key[1], on: c)
        }

        var out: [String: LoadedMessage] = [:]
        for (key, (tenant, data, metadata)) in requests {
            guard let sealed = data["sealed"]?.stringValue,
                let keyID = metadata["key_id"]?.stringValue.flatMap(UUID.init(uuidString:))
            else { continue }  // not a request the worker can send
            let personal = try vault.open(sealed, keyID: keyID, tenant: tenant, on: c)
            let subject = data["recipient_subject"]?.stringValue ?? ""
            out[key] = LoadedMessage(
                request: data, personal: personal, customer: customers[tenant]?[subject],
                suppression: suppressions[tenant]?[subject],
                brand: data["brand_id"]?.stringValue.flatMap { brands[[tenant, $0]] ?? nil })
        }
        return out
    }
}
