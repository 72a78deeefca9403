import Crypto
import DeliveryService
import EventStore
import Foundation
import JSON
import Postgres
import Service
import TestSupport
import Testing

/// A delivery service on a fresh database, talking to `smtpPort` (or writing files), with
/// quick retries so the retry path fits in a test.
struct DeliveryHarness {
    let app: ServiceApp
    let client: TestHTTPClient
    let other: TestHTTPClient
    /// The folder of the default file transport, which the harness made and removes.
    var outboxFolder: String?

    static let fromDomain = "mail.test"

    static func start(
        smtpPort: Int? = nil, transport: String? = nil, maxAttempts: Int = 3, retryBase: String = "0.2",
        databaseURL: String? = nil, masterKey: String? = nil, smtpTimeout: Int = 5, extra: [String: String] = [:]
    ) async throws -> DeliveryHarness {
        var env = [
            "MAIL_FROM_DOMAIN": fromDomain, "MAIL_MAX_ATTEMPTS": String(maxAttempts), "MAIL_RETRY_BASE_SECONDS": retryBase,
        ]
        var outboxFolder: String?
        if let smtpPort {
            env["MAIL_TRANSPORT"] = "smtp://127.0.0.1:\(smtpPort)?tls=none&timeout=\(smtpTimeout)&connect_timeout=2&sessions=2"
        } else if let transport {
            env["MAIL_TRANSPORT"] = transport
        } else {
            outboxFolder = NSTemporaryDirectory() + "delivery-tests-" + UUID().uuidString
            env["MAIL_TRANSPORT"] = "file://" + outboxFolder!
        }
        if let masterKey { env["MASTER_KEY"] = masterKey }
        env.merge(extra) { _, new in new }
        let configuration = try TestServices.configuration(databaseURL: databaseURL, extra: env)
        let app = try await DeliveryService.start(configuration: configuration, port: 0)
        return DeliveryHarness(
            app: app, client: TestHTTPClient(port: app.port, basicAuth: ("site1", "key1")),
            other: TestHTTPClient(port: app.port, basicAuth: ("site2", "key2")), outboxFolder: outboxFolder)
    }

    func shutdown() async {
        await app.shutdown()
        if let outboxFolder { try? FileManager.default.removeItem(atPath: outboxFolder) }
    }

    /// Creates a template and returns its id.
    func createTemplate(
        name: String = "Order Confirmation", subject: String, html: String, text: String? = nil, locale: String? = nil,
        client: TestHTTPClient? = nil
    ) async throws -> String {
        var body: JSONObject = ["name": .string(name), "subject": .string(subject), "html": .string(html)]
        if let text { body["text"] = .string(text) }
        if let locale { body["locale"] = .string(locale) }
        let r = try await (client ?? self.client).send("POST", "/templates", json: .object(body))
        try #require(r.status == 200, "create template: \(r.text)")
        return try #require(r.json["id"]?.stringValue)
    }

    /// Saves a brand whose templates all point at `templateID`.
    func putBrand(_ brandID: String, templateID: String, listUnsubscribe: String? = nil) async throws {
        var body: JSONObject = [
            "Name": "Photos Inc", "From": "Photos Inc <hello@photos.example>", "ReplyTo": "support@photos.example",
            "Templates": ["token": .string(templateID), "group": .string(templateID), "tokenAndGroup": .string(templateID)],
        ]
        if let listUnsubscribe { body["ListUnsubscribe"] = .string(listUnsubscribe) }
        let r = try await client.send("PUT", "/v1/Brands/\(brandID)", json: .object(body))
        try #require(r.status == 200, "put brand: \(r.text)")
    }

    /// Appends a `customer.upserted` as ingest would (sealed), and waits for delivery to see it.
    func addCustomer(tenant: String = "site1", email: String, attributes: JSONObject, locale: String? = nil) async throws {
        let app = self.app
        let (data, keyID) = try await app.store.pool.withConnection { c in
            let subject = try app.vault.subjectHash(tenant: tenant, subject: email.lowercased(), on: c)
            let key = try app.vault.keyForWriting(tenant: tenant, subjectHash: subject, on: c)
            var personal: JSONObject = ["id": .string(email.lowercased()), "email": .string(email), "attributes": .object(attributes)]
            if let locale { personal["locale"] = .string(locale) }
            let sealed = try app.vault.seal(.object(personal), with: key, tenant: tenant)
            let data: JSON = [
                "subject": .string(subject), "source": "sendwithus", "occurred_at": .int64(Int64(Date().timeIntervalSince1970 * 1000)),
                "sealed": .string(sealed),
            ]
            return (data, key.id)
        }
        let subject = data["subject"]!.stringValue!
        let result = try await app.store.append(
            StreamAppend(
                tenant: tenant, stream: "customer-" + subject,
                events: [
                    NewEvent(
                        type: "customer.upserted", data: data, metadata: ["key_id": .string(keyID.uuidString.lowercased())],
                        keyID: keyID)
                ]))
        try await app.waitForConsistency(result.checkpoint)
    }

    /// Appends a `suppression.added` as the webhooks will, and waits for delivery to see it.
    func suppress(tenant: String = "site1", email: String, reason: String = "bounced") async throws {
        let app = self.app
        let (data, keyID) = try await app.store.pool.withConnection { c in
            let subject = try app.vault.subjectHash(tenant: tenant, subject: email.lowercased(), on: c)
            let key = try app.vault.keyForWriting(tenant: tenant, subjectHash: subject, on: c)
            let sealed = try app.vault.seal(["address": .string(email)], with: key, tenant: tenant)
            let data: JSON = [
                "address_subject": .string(subject), "reason": .string(reason), "source": "webhook:sendgrid",
                "occurred_at": .int64(Int64(Date().timeIntervalSince1970 * 1000)), "sealed": .string(sealed),
            ]
            return (data, key.id)
        }
        let result = try await app.store.append(
            StreamAppend(
                tenant: tenant, stream: "suppression-" + data["address_subject"]!.stringValue!,
                events: [
                    NewEvent(
                        type: "suppression.added", data: data, metadata: ["key_id": .string(keyID.uuidString.lowercased())],
                        keyID: keyID)
                ]))
        try await app.waitForConsistency(result.checkpoint)
    }

    /// The events of a message's stream (log id, hex or UUID).
    func messageEvents(_ id: String, tenant: String = "site1") async throws -> [RecordedEvent] {
        var hex = id.hasPrefix("log_") ? String(id.dropFirst(4)) : id
        hex = hex.replacingOccurrences(of: "-", with: "").lowercased()
        return try await app.store.readStream(tenant: tenant, stream: "message-" + hex)
    }

    /// Polls until the message's stream has an event of `type` (returns the event types).
    func waitForEvent(_ id: String, _ type: String, count: Int = 1, timeout: Duration = .seconds(15)) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        let found = try await eventually(timeout: timeout) {
            events = try await messageEvents(id)
            return events.filter { $0.type == type }.count >= count
        }
        #expect(found, "no \(type) for \(id); have \(events.map(\.type))")
        return events
    }
}

/// Polls the SMTP sink until it holds `count` messages.
func waitForMail(_ smtp: SMTPFixture, count: Int, timeout: Duration = .seconds(15)) async throws -> [ReceivedMessage] {
    var received: [ReceivedMessage] = []
    _ = try await eventually(timeout: timeout) {
        received = try smtp.received()
        return received.count >= count
    }
    return received
}

/// A connection to a fresh database where `component` stands just before migration `version`
/// (for tests of a migration over rows written by the versions before it).
func database(migratedBefore version: Int, component: String, migrations: [Migration]) throws -> PostgresConnection {
    let connection = try PostgresConnection(url: try TestPostgres.makeDatabase())
    try Migrator.migrate(connection, component: component, migrations: migrations.filter { $0.version < version })
    return connection
}
