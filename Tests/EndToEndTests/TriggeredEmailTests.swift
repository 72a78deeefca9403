import EventStore
import Foundation
import JSON
import TestSupport
import Testing

/// Issue 7's loop end to end: a customer and a tracked event through `ingest` (customer.io's
/// Track API), a trigger in `delivery`, the mail at the SMTP server, and a log that starts with
/// `triggered` in `query`.
@Suite struct TriggeredEmailTests {
    @Test func aTrackedEventSendsItsTriggeredEmailOnce() async throws {
        let p = try await Platform.start()
        do {
            let template = try await p.sender.send(
                "POST", "/templates",
                json: ["name": "Thanks", "subject": "Thanks {{first_name}}", "html": "<p>Order {{order_id}}: {{total}} EUR</p>"])
            let templateID = try #require(template.json["id"]?.stringValue)
            let trigger = try await p.sender.send(
                "POST", "/triggers",
                json: [
                    "name": "Purchase thanks", "event": "purchased", "template_id": .string(templateID),
                    "conditions": [["path": "data.currency", "equals": "EUR"]],
                ])
            try #require(trigger.status == 201, "\(trigger.text)")

            // customer.io clients: a form PUT identifies the customer with an email attribute.
            let identified = try await p.writer.send(
                "PUT", "/api/v1/customers/cust-42", form: [("email", "Bob@Example.com"), ("first_name", "Bob")])
            try #require(identified.status == 200, "\(identified.text)")
            // An event that does not meet the condition sends nothing ...
            let ignored = try await p.writer.send(
                "POST", "/api/v1/customers/cust-42/events",
                form: [("name", "purchased"), ("data[currency]", "USD"), ("data[order_id]", "A-1")])
            #expect(ignored.status == 200)
            // ... one that does sends one email.
            let tracked = try await p.writer.send(
                "POST", "/api/v1/customers/cust-42/events",
                json: ["name": "purchased", "data": ["currency": "EUR", "order_id": "A-2", "total": .number("23.45")]])
            #expect(tracked.status == 200)

            let mail = try #require(try await p.mail(count: 1).first)
            #expect(mail.to.map(\.address) == ["bob@example.com"])
            #expect(mail.subject == "Thanks Bob")
            #expect(mail.html?.contains("Order A-2: 23.45 EUR") == true)
            let logID = String(mail.message_id.dropFirst().prefix(while: { $0 != "@" }))
            #expect(logID.hasPrefix("log_"))

            let log = try await p.read("/logs/\(logID)") { $0.json["status"] == "sent" }
            #expect(log.json["status"] == "sent")
            let timeline = try await p.reader.send("GET", "/logs/\(logID)/events")
            #expect(timeline.json.arrayValue?.compactMap { $0["type"]?.stringValue } == ["triggered", "queued", "sent"])
            let logs = try await p.reader.send("GET", "/customers/bob@example.com/logs")
            #expect(logs.json["logs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [logID])

            // A replay of delivery's projections from position 0 sends nothing new.
            #expect(try await p.delivery.rebuildEveryProjection(timeout: .seconds(20)))
            let marker = try await p.writer.send("POST", "/api/v1/customers/cust-42/events", json: ["name": "marker"])
            try await p.delivery.waitForConsistency(try #require(Checkpoint(token: marker.header("X-Consistency-Token") ?? "")))
            let triggered = try await p.delivery.store.pool.execute(
                "SELECT count(*) FROM events WHERE type = 'message.triggered'")[0].int(0)
            #expect(triggered == 1)
            #expect(try p.smtp.received().count == 1)
        } catch {
            await p.stop()
            throw error
        }
        await p.stop()
    }

    @Test func scheduledDripStepsShowInTheCustomersLogsUntilSentOrDeactivated() async throws {
        let p = try await Platform.start()
        do {
            let template = try await p.sender.send("POST", "/templates", json: ["name": "Step", "subject": "Step", "html": "step"])
            let templateID = try #require(template.json["id"]?.stringValue)
            let campaign = try await p.sender.send(
                "POST", "/drip_campaigns",
                json: [
                    "name": "Onboarding",
                    "steps": [["template_id": .string(templateID), "delay_seconds": 0], ["template_id": .string(templateID), "delay_seconds": 3600]],
                ])
            let campaignID = try #require(campaign.json["drip_campaign"]?["id"]?.stringValue)
            let activated = try await p.sender.send(
                "POST", "/api/v1/drip_campaigns/\(campaignID)/activate", json: ["recipient_address": "dee@example.com"])
            #expect(activated.status == 200, "\(activated.text)")

            // The first step is sent; the second waits, listed as scheduled.
            _ = try await p.mail(count: 1)
            let logs = try await p.read("/customers/dee@example.com/logs") { r in
                let statuses = r.json["logs"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
                return statuses.count == 2 && statuses.contains("scheduled") && statuses.contains("sent")
            }
            let scheduled = logs.json["logs"]?.arrayValue?.first { $0["status"] == "scheduled" }
            #expect(scheduled?["recipient_address"] == "dee@example.com")
            #expect(scheduled?["email_id"] == .string(templateID))
            #expect(scheduled?["id"]?.stringValue?.hasPrefix("log_") == true)
            #expect(scheduled?["message"]?.stringValue?.hasPrefix("drip step scheduled for ") == true)
            let limited = try await p.reader.send("GET", "/customers/dee@example.com/logs?count=1")
            #expect(limited.json["logs"]?.arrayValue?.count == 1)

            // Deactivation cancels it: the customer's logs keep only what was sent.
            let off = try await p.sender.send(
                "POST", "/drip_campaigns/\(campaignID)/deactivate", json: ["recipient_address": "dee@example.com"])
            #expect(off.status == 200, "\(off.text)")
            let after = try await p.read("/customers/dee@example.com/logs") { r in
                r.json["logs"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["sent"]
            }
            #expect(after.json["logs"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["sent"])
        } catch {
            await p.stop()
            throw error
        }
        await p.stop()
    }
}
