import Crypto
@testable import DeliveryService
import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Service
import Synchronization
import TestSupport
import Testing
import Webhooks

/// A test-only service that serves just the webhook module (the delivery service is built in
/// another branch).
enum WebhookTestService: ServiceDefinition {
    static let name = "delivery"
    static let defaultPort = 0
    static let migrations: [Migration] = []

    static func build(_ app: ServiceApp) throws -> Router {
        var router = Router()
        let module = try WebhookModule(app: app)
        module.register(&router)
        return router
    }
}

/// Keys the tests sign with, made once per process.
enum WebhookTestKeys {
    static let sendGrid = ECDSAP256.PrivateKey.generate()
    static let sns = RSATestAuthority.generate(commonName: "sns.us-east-1.amazonaws.com")
    static let otherSNS = RSATestAuthority.generate(commonName: "sns.us-east-1.amazonaws.com")
    static let mailgunSigningKey = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
    static let postmark = ("hooks", "s3cret-pass")
    static let topic = "arn:aws:sns:us-east-1:123456789012:ses-events"
}

/// A loopback HTTP server playing SNS: serves the signing certificate and counts subscription
/// confirmations.
final class FakeSNSHost: Sendable {
    let server: HTTPServer
    init() throws {
        var router = Router()
        let pem = WebhookTestKeys.sns.certificatePEM
        let other = WebhookTestKeys.otherSNS.certificatePEM
        let fetches = ConfirmCounter()
        router.inline("GET", "/SimpleNotificationService-test.pem", requiresAuth: false) { _, _ in
            fetches.hit()
            return .text(pem, contentType: "application/x-pem-file")
        }
        router.inline("GET", "/other.pem", requiresAuth: false) { _, _ in
            .text(other, contentType: "application/x-pem-file")
        }
        let box = ConfirmCounter()
        router.inline("GET", "/confirm", requiresAuth: false) { _, _ in
            box.hit()
            return .text("<ConfirmSubscriptionResponse/>", contentType: "text/xml")
        }
        server = HTTPServer(router: router, configuration: HTTPServer.Configuration(host: "127.0.0.1", port: 0), logger: .disabled)
        try server.start()
        counter = box
        certificateFetches = fetches
    }

    /// Subscription confirmations received.
    let counter: ConfirmCounter
    /// Times the signing certificate was fetched.
    let certificateFetches: ConfirmCounter

    var base: String { "http://127.0.0.1:\(server.port)/" }
    var certificateURL: String { base + "SimpleNotificationService-test.pem" }
}

final class ConfirmCounter: Sendable {
    let count = Atomic<Int>(0)
    func hit() { count.wrappingAdd(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// The webhook module running against its own database, with helpers to seed logs and count
/// what was appended.
struct WebhookHarness {
    let app: ServiceApp
    let sns: FakeSNSHost
    let client: TestHTTPClient
    /// The webhook configuration file (removed by `stop`).
    let configurationPath: String

    /// site1 has every provider; site2 only Mailgun.
    static func start(databaseURL: String? = nil) async throws -> WebhookHarness {
        let sns = try FakeSNSHost()
        let config: JSON = [
            "site1": [
                "sendgrid": ["public_key": .string(WebhookTestKeys.sendGrid.publicKeyDERBase64)],
                "mailgun": ["signing_key": .string(WebhookTestKeys.mailgunSigningKey)],
                "postmark": ["username": .string(WebhookTestKeys.postmark.0), "password": .string(WebhookTestKeys.postmark.1)],
                "ses": ["topic_arns": [.string(WebhookTestKeys.topic)]],
            ],
            "site2": ["mailgun": ["signing_key": "another-key"]],
        ]
        let path = try writeTemporary(config.bytes)
        let app = try await WebhookTestService.start(
            configuration: try TestServices.configuration(databaseURL: databaseURL, extra: [
                "WEBHOOKS_CONFIG": path, "SNS_CERT_URL_PREFIXES": sns.base,
            ]), port: 0)
        return WebhookHarness(app: app, sns: sns, client: TestHTTPClient(port: app.port), configurationPath: path)
    }

    func stop() async {
        await app.shutdown()
        await sns.server.shutdown()
        try? FileManager.default.removeItem(atPath: configurationPath)
    }

    /// Writes `bytes` to a new file in the temporary directory and returns its path; the caller
    /// removes it.
    static func writeTemporary(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "webhooks-\(UUID().uuidString).json"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: Seeding logs (message events as the delivery service writes them)

    /// Appends `message.requested` (sealed recipient) and, when `providerMessageID` is given or
    /// `sent` is true, `message.sent`; waits until the correlation projection has them unless
    /// told not to.
    @discardableResult
    func seedLog(
        tenant: String = "site1", message: MessageIdentity = MessageIdentity(), recipient: String = "jane@example.com",
        sent: Bool = true, provider: MailProvider = .sendGrid, providerMessageID: String? = nil,
        waitForCorrelation: Bool = true
    ) async throws -> MessageIdentity {
        let vault = app.vault
        let address = recipient.lowercased()
        let (subject, keyID, sealed) = try await app.store.pool.withConnection { c in
            let subject = try vault.subjectHash(tenant: tenant, subject: address, on: c)
            let key = try vault.keyForWriting(tenant: tenant, subjectHash: subject, on: c)
            let personal: JSON = [
                "recipient": ["address": .string(address)], "cc": [], "bcc": [], "email_data": [:], "headers": [:],
                "tags": [],
            ]
            return (subject, key.id, try vault.seal(personal, with: key, tenant: tenant))
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var events = [
            NewEvent(
                type: EventCatalog.messageRequested,
                data: [
                    "message_id": .string(message.messageID), "log_id": .string(message.logID), "status": "requested",
                    "occurred_at": .int64(now), "template_id": "tem_1", "template_name": "Welcome",
                    "template_version": "ver_1", "locale": "en-US", "recipient_subject": .string(subject),
                    "sealed": .string(sealed),
                ],
                metadata: ["key_id": .string(keyID.uuidString.lowercased()), "actor": .string(tenant)], keyID: keyID)
        ]
        if sent || providerMessageID != nil {
            var data: JSONObject = [
                "message_id": .string(message.messageID), "log_id": .string(message.logID), "status": "sent",
                "occurred_at": .int64(now + 1), "message": .string("email sent through \(provider.displayName)"),
                "provider": .string(provider.rawValue), "message_id_header": .string("<\(message.logID)@mail.test>"),
            ]
            if let providerMessageID { data["provider_message_id"] = .string(providerMessageID) }
            events.append(NewEvent(type: EventCatalog.messageSent, data: .object(data), metadata: ["actor": .string(tenant)]))
        }
        let appended = try await app.store.append(
            StreamAppend(tenant: tenant, stream: EventCatalog.messageStream(messageHex: message.hex), events: events))
        guard waitForCorrelation else { return message }
        let seen = try await app.waitForProjection(
            named: CorrelationProjection.projectionName, toReach: appended.checkpoint, timeout: .seconds(20))
        #expect(seen, "the correlation projection saw the log")
        return message
    }

    // MARK: Looking at what was stored

    func count(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> Int {
        try await app.store.pool.execute(sql, parameters)[0].int(0) ?? -1
    }

    func eventCount() async throws -> Int { try await count("SELECT count(*) FROM events") }

    func eventCount(type: String) async throws -> Int {
        try await count("SELECT count(*) FROM events WHERE type = $1", [type])
    }

    /// The provider events on a log's stream.
    func providerEvents(_ message: MessageIdentity, tenant: String = "site1") async throws -> [RecordedEvent] {
        try await app.store.readStream(tenant: tenant, stream: EventCatalog.messageStream(messageHex: message.hex))
            .filter { $0.type == EventCatalog.messageProviderEvent }
    }

    /// Events of a type, in position order.
    func events(type: String) async throws -> [RecordedEvent] {
        let rows = try await app.store.pool.execute(
            "SELECT tenant, stream FROM events WHERE type = $1 GROUP BY tenant, stream", [type])
        var out: [RecordedEvent] = []
        for r in rows.rows {
            out += try await app.store.readStream(tenant: r[0] ?? "", stream: r[1] ?? "").filter { $0.type == type }
        }
        return out.sorted { $0.position < $1.position }
    }

    /// Opens the sealed part of an event.
    func personal(_ e: RecordedEvent) async throws -> JSON? {
        guard let sealed = e.data["sealed"]?.stringValue, let k = e.metadata["key_id"]?.stringValue,
            let keyID = UUID(uuidString: k)
        else { return nil }
        let vault = app.vault
        let tenant = e.tenant
        return try await app.store.pool.withConnection { try vault.open(sealed, keyID: keyID, tenant: tenant, on: $0) }
    }

    // MARK: Posting signed webhooks

    /// Posts a SendGrid batch signed with the test key (or with `signer`).
    func postSendGrid(
        _ body: [UInt8], site: String = "site1", timestamp: String = "1700000000",
        signer: ECDSAP256.PrivateKey = WebhookTestKeys.sendGrid, signedBody: [UInt8]? = nil
    ) async throws -> TestHTTPClient.Response {
        let signature = Base64.encode(signer.sign(Array(timestamp.utf8) + (signedBody ?? body)))
        return try await client.send(
            "POST", "/webhooks/sendgrid/\(site)", body: body,
            headers: [
                ("Content-Type", "application/json"), (SendGridWebhook.signatureHeader, signature),
                (SendGridWebhook.timestampHeader, timestamp),
            ])
    }

    func postJSON(_ path: String, _ body: [UInt8], headers: [(String, String)] = []) async throws -> TestHTTPClient.Response {
        try await client.send("POST", path, body: body, headers: [("Content-Type", "application/json")] + headers)
    }
}

/// Provider payloads shaped like each provider's documentation.
enum ProviderPayloads {
    /// One SendGrid event (Event Webhook docs), with our `log_id` custom argument.
    static func sendGridEvent(
        _ event: String, id: String = UUID().uuidString, logID: String? = nil, smtpID: String? = nil,
        sgMessageID: String? = nil, email: String = "jane@example.com", extra: JSONObject = [:]
    ) -> JSON {
        var e: JSONObject = [
            "email": .string(email), "timestamp": 1_700_000_000, "event": .string(event),
            "sg_event_id": .string(id), "category": ["welcome"],
        ]
        if let smtpID { e["smtp-id"] = .string(smtpID) }
        if let sgMessageID { e["sg_message_id"] = .string(sgMessageID) }
        if let logID { e["log_id"] = .string(logID) }
        for (k, v) in extra { e[k] = v }
        return .object(e)
    }

    /// A Mailgun webhook body signed with `key` (token random unless given).
    static func mailgun(
        event: String, logID: String?, messageID: String = "20130503182626.18666.16540@sandbox.mailgun.org",
        key: String = WebhookTestKeys.mailgunSigningKey, timestamp: Int = Int(Date().timeIntervalSince1970),
        token: String = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() + "abcdefghijklmnopqr", extra: JSONObject = [:], eventID: String = "DACSsAdVSeGpLid7TN03WA"
    ) -> JSON {
        let signature = HMACSHA256.authenticationCode(key: Array(key.utf8), message: Array("\(timestamp)\(token)".utf8))
            .hexString
        var data: JSONObject = [
            "event": .string(event), "timestamp": .number("\(timestamp).329574"), "id": .string(eventID),
            "log-level": "info", "recipient": "alice@example.com",
            "message": ["headers": ["to": "Alice <alice@example.com>", "message-id": .string(messageID),
                "from": "Bob <bob@sandbox.mailgun.org>", "subject": "Test"], "size": 111],
        ]
        if let logID { data["user-variables"] = ["log_id": .string(logID)] }
        for (k, v) in extra { data[k] = v }
        return [
            "signature": ["timestamp": .string("\(timestamp)"), "token": .string(token), "signature": .string(signature)],
            "event-data": .object(data),
        ]
    }

    /// An SNS envelope signed by `authority` (canonical string from `SNSMessage`).
    static func sns(
        type: String = "Notification", message: String, messageID: String = UUID().uuidString.lowercased(),
        topic: String = WebhookTestKeys.topic, certificateURL: String, version: String = "1",
        authority: RSATestAuthority = WebhookTestKeys.sns, subscribeURL: String? = nil
    ) throws -> [UInt8] {
        var envelope: JSONObject = [
            "Type": .string(type), "MessageId": .string(messageID), "TopicArn": .string(topic), "Message": .string(message),
            "Timestamp": "2026-11-22T01:02:03.456Z", "SignatureVersion": .string(version), "Signature": "placeholder",
            "SigningCertURL": .string(certificateURL),
        ]
        if type == "Notification" {
            envelope["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        } else {
            envelope["SubscribeURL"] = .string(subscribeURL ?? "")
            envelope["Token"] = "2336412f37fb687f5d51e6e241d638b05824e9e2f6713b42abaeb8607743f5ba91d34edd2b9dabe2f1616ed77c0f8801"
        }
        let unsigned = try SNSMessage.parse(rawBody: JSON.object(envelope).bytes)
        let digest: RSASignatureDigest = version == "1" ? .sha1 : .sha256
        envelope["Signature"] = .string(Base64.encode(authority.sign(Array(unsigned.canonicalString.utf8), digest: digest)))
        return JSON.object(envelope).bytes
    }

    /// An SES Bounce notification (SES notification docs) for `recipients`.
    static func sesBounce(
        bounceType: String = "Permanent", recipients: [String], messageIDHeader: String, sesMessageID: String
    ) -> String {
        let bounced: [JSON] = recipients.map {
            ["emailAddress": .string($0), "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"]
        }
        let value: JSON = [
            "notificationType": "Bounce",
            "bounce": [
                "bounceType": .string(bounceType), "bounceSubType": "General", "bouncedRecipients": .array(bounced),
                "timestamp": "2026-11-22T01:02:03.237Z", "feedbackId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
                "remoteMtaIp": "127.0.2.0", "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
            ],
            "mail": sesMail(recipients: recipients, messageIDHeader: messageIDHeader, sesMessageID: sesMessageID),
        ]
        return value.text
    }

    /// An SES Delivery notification.
    static func sesDelivery(recipients: [String], messageIDHeader: String, sesMessageID: String) -> String {
        let value: JSON = [
            "notificationType": "Delivery",
            "delivery": [
                "timestamp": "2026-11-22T01:02:04.100Z", "processingTimeMillis": 546,
                "recipients": .array(recipients.map { .string($0) }), "smtpResponse": "250 ok:  Message 64111812 accepted",
                "reportingMTA": "a8-70.smtp-out.amazonses.com", "remoteMtaIp": "127.0.2.0",
            ],
            "mail": sesMail(recipients: recipients, messageIDHeader: messageIDHeader, sesMessageID: sesMessageID),
        ]
        return value.text
    }

    static func sesMail(recipients: [String], messageIDHeader: String, sesMessageID: String) -> JSON {
        [
            "timestamp": "2026-11-22T01:02:02.000Z", "messageId": .string(sesMessageID), "source": "john@example.com",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com", "sendingAccountId": "123456789012",
            "destination": .array(recipients.map { .string($0) }), "headersTruncated": false,
            "headers": [["name": "Message-ID", "value": .string(messageIDHeader)]],
            "commonHeaders": [
                "from": ["John Doe <john@example.com>"], "to": .array(recipients.map { .string($0) }),
                "messageId": .string(messageIDHeader), "subject": "Hello",
            ],
        ]
    }

    /// A Postmark Delivery webhook (Postmark docs).
    static func postmarkDelivery(messageID: String, logID: String?) -> [UInt8] {
        var metadata: JSONObject = ["a_key": "a_value"]
        if let logID { metadata["log_id"] = .string(logID) }
        let value: JSON = [
            "MessageID": .string(messageID), "Recipient": "john@example.com",
            "DeliveredAt": "2019-11-05T16:33:54.9070259Z", "Details": "Test delivery webhook details",
            "Tag": "welcome-email", "ServerID": 23, "Metadata": .object(metadata), "RecordType": "Delivery",
            "MessageStream": "outbound",
        ]
        return value.bytes
    }

    /// A Postmark HardBounce webhook.
    static func postmarkBounce(messageID: String, logID: String) -> [UInt8] {
        let value: JSON = [
            "RecordType": "Bounce", "ID": 4_323_372_036_854_775_807, "Type": "HardBounce", "TypeCode": 1,
            "Name": "Hard bounce", "Tag": "Test", "MessageID": .string(messageID), "ServerID": 23,
            "MessageStream": "outbound", "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "Test bounce details", "Email": "john@example.com", "From": "sender@example.com",
            "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": true, "Inactive": true, "CanActivate": true,
            "Subject": "Test subject", "Metadata": ["log_id": .string(logID)],
        ]
        return value.bytes
    }

    static func basic(_ user: String, _ password: String) -> (String, String) {
        ("Authorization", "Basic " + Base64.encode(Array("\(user):\(password)".utf8)))
    }
}
