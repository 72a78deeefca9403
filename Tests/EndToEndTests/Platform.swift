import Crypto
import DeliveryService
import Foundation
import IngestService
import JSON
import Postgres
import QueryService
import Service
import TestSupport
import Testing

/// The whole platform on one database, as it runs in production: `ingest`, `delivery` (its
/// worker talking to a real SMTP server on loopback, SendGrid webhooks verified with a key the
/// test made) and `query`, all sharing the event table and one master key.
struct Platform {
    let databaseURL: String
    let ingest: ServiceApp
    let delivery: ServiceApp
    let query: ServiceApp
    let smtp: SMTPFixture
    /// The webhook configuration file written for this platform (removed by `stop`).
    let webhooksPath: String

    /// Signs SendGrid webhook bodies; its public key is configured for site1.
    static let sendGridKey = ECDSAP256.PrivateKey.generate()
    static let fromDomain = "mail.test"

    static func start() async throws -> Platform {
        let url = try TestPostgres.makeDatabase()
        let smtp = try SMTPFixture()
        let webhooks: JSON = ["site1": ["sendgrid": ["public_key": .string(sendGridKey.publicKeyDERBase64)]]]
        let webhooksPath = NSTemporaryDirectory() + "e2e-webhooks-\(UUID().uuidString).json"
        try Data(webhooks.bytes).write(to: URL(fileURLWithPath: webhooksPath))
        let shared = ["MASTER_KEY": MasterKeyring.generateEntry(id: "e2e")]
        func configuration(_ extra: [String: String] = [:]) throws -> ServiceConfiguration {
            try TestServices.configuration(databaseURL: url, extra: shared.merging(extra) { $1 })
        }
        let ingest = try await IngestService.start(configuration: try configuration(), port: 0)
        let delivery = try await DeliveryService.start(
            configuration: try configuration([
                "MAIL_TRANSPORT": "smtp://127.0.0.1:\(smtp.port)?tls=none&timeout=5&connect_timeout=2",
                "MAIL_FROM_DOMAIN": fromDomain, "WEBHOOKS_CONFIG": webhooksPath,
            ]), port: 0)
        let query = try await QueryService.start(configuration: try configuration(), port: 0)
        return Platform(
            databaseURL: url, ingest: ingest, delivery: delivery, query: query, smtp: smtp, webhooksPath: webhooksPath)
    }

    func stop() async {
        await query.shutdown()
        await delivery.shutdown()
        await ingest.shutdown()
        smtp.stop()
        try? FileManager.default.removeItem(atPath: webhooksPath)
    }

    var writer: TestHTTPClient { TestHTTPClient(port: ingest.port, basicAuth: ("site1", "key1")) }
    var sender: TestHTTPClient { TestHTTPClient(port: delivery.port, basicAuth: ("site1", "key1")) }
    var reader: TestHTTPClient { TestHTTPClient(port: query.port, basicAuth: ("site1", "key1")) }

    /// Posts a SendGrid Event Webhook batch signed as SendGrid signs it.
    func postSendGrid(_ events: [JSON]) async throws -> TestHTTPClient.Response {
        let body = JSON.array(events).bytes
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = Base64.encode(Self.sendGridKey.sign(Array(timestamp.utf8) + body))
        return try await TestHTTPClient(port: delivery.port).send(
            "POST", "/webhooks/sendgrid/site1", body: body,
            headers: [
                ("Content-Type", "application/json"),
                ("X-Twilio-Email-Event-Webhook-Signature", signature),
                ("X-Twilio-Email-Event-Webhook-Timestamp", timestamp),
            ])
    }

    /// Polls the SMTP server until it holds `count` messages.
    func mail(count: Int, timeout: Duration = .seconds(20)) async throws -> [ReceivedMessage] {
        var received: [ReceivedMessage] = []
        let arrived = try await eventually(timeout: timeout) {
            received = try smtp.received()
            return received.count >= count
        }
        #expect(arrived, "expected \(count) messages at the SMTP server, have \(received.count)")
        return received
    }

    /// Polls query until `path` answers with `predicate` true; returns the last response.
    func read(_ path: String, timeout: Duration = .seconds(15), until predicate: (TestHTTPClient.Response) -> Bool)
        async throws -> TestHTTPClient.Response
    {
        var last: TestHTTPClient.Response?
        _ = try await eventually(timeout: timeout) {
            last = try await reader.send("GET", path)
            return predicate(last!)
        }
        return last!
    }
}

/// One SendGrid event as the Event Webhook posts it.
func sendGridEvent(_ event: String, email: String, logID: String? = nil, smtpID: String? = nil, extra: JSONObject = [:]) -> JSON {
    var e: JSONObject = [
        "email": .string(email), "timestamp": .int64(Int64(Date().timeIntervalSince1970)), "event": .string(event),
        "sg_event_id": .string(UUID().uuidString), "sg_message_id": "",
    ]
    if let logID { e["log_id"] = .string(logID) }
    if let smtpID { e["smtp-id"] = .string(smtpID) }
    for (k, v) in extra { e[k] = v }
    return .object(e)
}

extension ServiceApp {
    /// Rebuilds every projection this app runs from the first event; true once each has applied
    /// every event of the table again and caught up (within `timeout`).
    func rebuildEveryProjection(timeout: Duration = .seconds(30)) async throws -> Bool {
        let total = try await store.pool.execute("SELECT count(*) FROM events")[0].int(0) ?? 0
        let runners = projectionRunners
        let applied = runners.map(\.progress.appliedEvents)
        for runner in runners { runner.requestRebuild() }
        return await eventually(timeout: timeout) {
            zip(runners, applied).allSatisfy { runner, before in
                runner.progress.appliedEvents >= before + total && runner.progress.isCaughtUp
            }
        }
    }
}
