import DeliveryService
import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Privacy
import Service
import TestSupport
import Testing

/// A test-only service that runs only the trigger module (DeliveryService is built elsewhere).
enum TriggerOnlyService: ServiceDefinition {
    static let name = "delivery"
    static let defaultPort = 0
    static let migrations: [Migration] = []
    static func build(_ app: ServiceApp) throws -> Router {
        var router = Router()
        try TriggerModule(app: app).register(&router)
        return router
    }
}

/// A running trigger module on a database, with helpers to append customer events the way
/// ingest does (sealed under the subject's key) and to look at what the module appended.
struct TriggerHarness {
    let app: ServiceApp
    let configuration: ServiceConfiguration
    let client: TestHTTPClient
    let tenant = "site1"

    static func start(configuration: ServiceConfiguration? = nil) async throws -> TriggerHarness {
        let configuration = try configuration ?? TestServices.configuration()
        let app = try await TriggerOnlyService.start(configuration: configuration, port: 0)
        return TriggerHarness(
            app: app, configuration: configuration, client: TestHTTPClient(port: app.port, basicAuth: ("site1", "key1")))
    }

    func stop() async { await app.shutdown() }

    var runner: ProjectionRunner { app.projectionRunners.first { $0.projection.name == "delivery_triggers" }! }

    /// Appends a sealed event to the stream of customer `id`; returns its id.
    @discardableResult
    func appendCustomerEvent(type: String, id: String, clear: JSONObject, personal: JSON) async throws -> UUID {
        let vault = app.vault
        let tenant = self.tenant
        let (subject, key) = try await app.store.pool.withConnection { c in
            let s = try vault.subjectHash(tenant: tenant, subject: id, on: c)
            return (s, try vault.keyForWriting(tenant: tenant, subjectHash: s, on: c))
        }
        var data = clear
        data["subject"] = .string(subject)
        data["occurred_at"] = .int64(Int64(Date().timeIntervalSince1970 * 1000))
        data["sealed"] = .string(try vault.seal(personal, with: key, tenant: tenant))
        let eventID = UUID()
        try await app.store.append(
            StreamAppend(
                tenant: tenant, stream: EventCatalog.customerStream(subject: subject),
                events: [
                    NewEvent(
                        id: eventID, type: type, data: .object(data),
                        metadata: ["key_id": .string(key.id.uuidString.lowercased()), "actor": .string(tenant)], keyID: key.id)
                ]))
        return eventID
    }

    /// A sendwithus customer (id = lowercased email) with attributes.
    func upsertCustomer(_ email: String, attributes: JSONObject = [:]) async throws {
        let id = email.lowercased()
        try await appendCustomerEvent(
            type: EventCatalog.customerUpserted, id: id, clear: ["source": "sendwithus"],
            personal: ["id": .string(id), "email": .string(id), "attributes": .object(attributes)])
    }

    /// A tracked event for customer `id`; returns the event id.
    @discardableResult
    func track(_ id: String, _ name: String, data: JSONObject = [:]) async throws -> UUID {
        try await appendCustomerEvent(
            type: EventCatalog.customerEventTracked, id: id, clear: ["name": .string(name)],
            personal: ["id": .string(id), "data": .object(data)])
    }

    /// Every event in the table, in position order. Reads stream by stream (not in commit
    /// order, which waits for every older transaction of the cluster, other tests' included).
    func events() async throws -> [RecordedEvent] {
        let streams = try await app.store.pool.execute("SELECT DISTINCT tenant, stream FROM events")
        var out: [RecordedEvent] = []
        for r in streams.rows {
            out += try await app.store.readStream(tenant: r[0] ?? "", stream: r[1] ?? "")
        }
        return out.sorted { $0.position < $1.position }
    }

    func events(_ type: String) async throws -> [RecordedEvent] { try await events().filter { $0.type == type } }

    /// The sealed part of an event.
    func open(_ e: RecordedEvent) async throws -> JSON? {
        guard let sealed = e.data["sealed"]?.stringValue, let keyText = e.metadata["key_id"]?.stringValue,
            let keyID = UUID(uuidString: keyText)
        else { return nil }
        let vault = app.vault
        let tenant = e.tenant
        return try await app.store.pool.withConnection { try vault.open(sealed, keyID: keyID, tenant: tenant, on: $0) }
    }

    /// Rows of `scheduled_sends` still pending.
    func pendingSends() async throws -> Int {
        try await app.store.pool.execute("SELECT count(*) FROM scheduled_sends WHERE state = 'pending'")[0].int(0) ?? -1
    }

    /// Polls until `count` events of `type` exist; returns them.
    func waitFor(_ type: String, count: Int, timeout: Duration = .seconds(10)) async throws -> [RecordedEvent] {
        var found: [RecordedEvent] = []
        _ = try await eventually(timeout: timeout) {
            found = try await events(type)
            return found.count >= count
        }
        return found
    }

    /// Creates a trigger; returns its id.
    func createTrigger(_ body: JSON) async throws -> String {
        let r = try await client.send("POST", "/triggers", json: body)
        #expect(r.status == 201, "\(r.text)")
        return r.json["trigger"]?["id"]?.stringValue ?? ""
    }
}
