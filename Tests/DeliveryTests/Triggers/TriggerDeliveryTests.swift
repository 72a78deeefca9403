import Crypto
import DeliveryService
import Domain
import EventStore
import Foundation
import JSON
import TestSupport
import Webhooks
import Testing

/// Triggers and drips inside the whole delivery service: what they append is sent by the outbox
/// worker through a real SMTP server, and a suppression webhook stops a recipient's drip.
@Suite("Triggers through the whole delivery service")
struct TriggerDeliveryTests {
    /// Appends a `customer.event_tracked` for `email` as ingest does (sealed under its key).
    static func track(_ h: DeliveryHarness, email: String, name: String, data: JSONObject) async throws {
        let app = h.app
        let id = email.lowercased()
        let (clear, keyID) = try await app.store.pool.withConnection { c in
            let subject = try app.vault.subjectHash(tenant: "site1", subject: id, on: c)
            let key = try app.vault.keyForWriting(tenant: "site1", subjectHash: subject, on: c)
            let sealed = try app.vault.seal(["id": .string(id), "data": .object(data)], with: key, tenant: "site1")
            let clear: JSON = [
                "name": .string(name), "subject": .string(subject), "sealed": .string(sealed),
                "occurred_at": .int64(Int64(Date().timeIntervalSince1970 * 1000)),
            ]
            return (clear, key.id)
        }
        try await app.store.append(
            StreamAppend(
                tenant: "site1", stream: "customer-" + (clear["subject"]?.stringValue ?? ""),
                events: [
                    NewEvent(
                        type: EventCatalog.customerEventTracked, data: clear,
                        metadata: ["key_id": .string(keyID.uuidString.lowercased())], keyID: keyID)
                ]))
    }

    /// Every event of `type` in the table.
    static func events(_ h: DeliveryHarness, _ type: String) async throws -> [RecordedEvent] {
        let rows = try await h.app.store.pool.execute(
            "SELECT DISTINCT tenant, stream FROM events WHERE type = $1", [type])
        var out: [RecordedEvent] = []
        for r in rows.rows {
            out += try await h.app.store.readStream(tenant: r[0] ?? "", stream: r[1] ?? "").filter { $0.type == type }
        }
        return out
    }

    @Test("tracked event → trigger → worker → SMTP: rendered data arrives; the log is triggered, queued, sent with the template named")
    func trackedEventIsSentThroughSMTP() async throws {
        let smtp = try SMTPFixture()
        let h = try await DeliveryHarness.start(smtpPort: smtp.port)
        do {
            let templateID = try await h.createTemplate(
                name: "Order shipped", subject: "Hi {{first_name}}", html: "<p>Order {{order_id}} is on its way</p>",
                text: "Order {{order_id}} is on its way")
            try await h.addCustomer(email: "Tia@Example.com", attributes: ["first_name": "Tia"])
            let r = try await h.client.send(
                "POST", "/triggers", json: ["name": "Shipped", "event": "order_shipped", "template_id": .string(templateID)])
            #expect(r.status == 201, "\(r.text)")
            // The trigger must be in the projection before the tracked event is applied.
            _ = try await eventually {
                try await h.app.store.pool.execute("SELECT count(*) FROM trigger_definitions")[0].int(0) == 1
            }
            try await Self.track(h, email: "tia@example.com", name: "order_shipped", data: ["order_id": "A-42"])

            let mail = try await waitForMail(smtp, count: 1)
            try #require(mail.count == 1)
            #expect(mail[0].subject == "Hi Tia")
            #expect(mail[0].text?.contains("Order A-42 is on its way") == true)
            #expect(mail[0].html?.contains("<p>Order A-42 is on its way</p>") == true)
            #expect(mail[0].to.first?.address == "tia@example.com")

            let triggered = try #require(try await Self.events(h, EventCatalog.messageTriggered).first)
            let log = try #require(triggered.data["log_id"]?.stringValue)
            let events = try await h.waitForEvent(log, EventCatalog.messageSent)
            #expect(events.map(\.type) == [EventCatalog.messageTriggered, EventCatalog.messageQueued, EventCatalog.messageSent])
            #expect(triggered.data["template_id"]?.stringValue == templateID)
            #expect(triggered.data["template_name"]?.stringValue == "Order shipped")
            #expect(triggered.data["template_version"]?.stringValue?.isEmpty == false)
            #expect(triggered.data["template_version_id"]?.stringValue?.isEmpty == false)
            #expect(mail[0].message_id == "<\(log)@\(DeliveryHarness.fromDomain)>")
        } catch {
            Issue.record(error)
        }
        await h.shutdown()
        smtp.stop()
    }

    @Test("a bounce webhook cancels the recipient's pending drip steps with the suppression as the reason")
    func suppressionCancelsPendingDripSteps() async throws {
        let config: JSON = ["site1": ["sendgrid": ["public_key": .string(WebhookTestKeys.sendGrid.publicKeyDERBase64)]]]
        let path = try WebhookHarness.writeTemporary(config.bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let h = try await DeliveryHarness.start(extra: ["WEBHOOKS_CONFIG": path])
        do {
            let templateID = try await h.createTemplate(subject: "Step", html: "<p>step</p>")
            let campaign = try await h.client.send(
                "POST", "/drip_campaigns",
                json: [
                    "name": "Onboarding",
                    "steps": [
                        ["template_id": .string(templateID), "delay_seconds": 3600],
                        ["template_id": .string(templateID), "delay_seconds": 3600],
                    ],
                ])
            #expect(campaign.status == 201, "\(campaign.text)")
            let campaignID = try #require(campaign.json["drip_campaign"]?["id"]?.stringValue)
            for address in ["dee@example.com", "kept@example.com"] {
                let r = try await h.client.send(
                    "POST", "/api/v1/drip_campaigns/\(campaignID)/activate",
                    json: ["recipient": ["address": .string(address)], "email_data": ["coupon": "X1"]])
                #expect(r.status == 200, "\(r.text)")
            }
            let pending = try await eventually {
                try await h.app.store.pool.execute("SELECT count(*) FROM scheduled_sends WHERE state = 'pending'")[0].int(0) == 4
            }
            #expect(pending)

            // The provider reports a bounce for Dee (signed like SendGrid's Event Webhook).
            let body = JSON.array([ProviderPayloads.sendGridEvent("bounce", email: "Dee@Example.com")]).bytes
            let timestamp = "1700000000"
            let signature = Base64.encode(WebhookTestKeys.sendGrid.sign(Array(timestamp.utf8) + body))
            let posted = try await h.client.send(
                "POST", "/webhooks/sendgrid/site1", body: body,
                headers: [
                    ("Content-Type", "application/json"), (SendGridWebhook.signatureHeader, signature),
                    (SendGridWebhook.timestampHeader, timestamp),
                ])
            #expect(posted.status == 200, "\(posted.text)")
            #expect(posted.json["suppressions"]?.intValue == 1)

            var cancelled: [RecordedEvent] = []
            let found = try await eventually(timeout: .seconds(10)) {
                cancelled = try await Self.events(h, TriggerEvents.dripStepCancelled)
                return cancelled.count >= 2
            }
            #expect(found, "cancelled: \(cancelled.count)")
            #expect(cancelled.count == 2)
            for e in cancelled {
                #expect(e.data["reason"]?.stringValue == "recipient suppressed (bounced, sendgrid)", "\(e.data.text)")
                // The API shows the campaign as dc_<hex>; events carry its UUID.
                #expect(
                    e.data["drip_campaign_id"]?.stringValue?.replacingOccurrences(of: "-", with: "")
                        == String(campaignID.dropFirst(3)))
            }
            #expect(Set(cancelled.compactMap { $0.data["step_index"]?.intValue }) == [0, 1])
            // The rows are final (and, being final, keep no address), the other recipient's steps
            // still wait, nothing was triggered.
            let states = try await h.app.store.pool.execute(
                "SELECT recipient_address, state, cancel_reason FROM scheduled_sends ORDER BY recipient_address, step_index")
            #expect(states.rows.map { [$0[0] ?? "-", $0[1] ?? ""] } == [
                ["", "cancelled"], ["", "cancelled"],
                ["kept@example.com", "pending"], ["kept@example.com", "pending"],
            ])
            #expect(try await Self.events(h, EventCatalog.messageTriggered).isEmpty)
            let suppressions = try await h.client.send("GET", "/suppressions")
            #expect(suppressions.json["suppressions"]?.arrayValue?.first?["email"]?.stringValue == "dee@example.com")
        } catch {
            Issue.record(error)
        }
        await h.shutdown()
    }
}
