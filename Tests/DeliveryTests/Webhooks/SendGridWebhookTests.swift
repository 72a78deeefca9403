import Crypto
import DeliveryService
import Domain
import Foundation
import JSON
import TestSupport
import Testing

@Suite struct SendGridWebhookTests {
    @Test func signedBatchIsAttachedByLogIDSmtpIDAndMessageIDAndRetriesAreIgnored() async throws {
        let h = try await WebhookHarness.start()
        let a = try await h.seedLog()
        let b = try await h.seedLog(providerMessageID: "W86EgYT6SQKk0lRflfLRsA")
        let before = try await h.eventCount()
        let body = JSON.array([
            ProviderPayloads.sendGridEvent("processed", id: "evt-1", logID: a.logID),
            ProviderPayloads.sendGridEvent("delivered", id: "evt-2", smtpID: "<\(a.logID)@mail.test>"),
            ProviderPayloads.sendGridEvent(
                "open", id: "evt-3", sgMessageID: "W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"),
            ProviderPayloads.sendGridEvent("click", id: "evt-4", logID: b.logID, extra: ["url": "https://example.com/x"]),
            ProviderPayloads.sendGridEvent("group_resubscribe", id: "evt-5", logID: b.logID),
        ]).bytes
        let r = try await h.postSendGrid(body)
        #expect(r.status == 200)
        #expect(r.json["attached"]?.intValue == 4)
        #expect(r.header("X-Consistency-Token") != nil)
        #expect(try await h.eventCount() == before + 4)

        let onA = try await h.providerEvents(a)
        #expect(onA.map { $0.data["status"]?.stringValue } == ["processed", "delivered"])
        #expect(onA.first?.data["log_id"]?.stringValue == a.logID)
        #expect(onA.first?.data["message_id"]?.stringValue == a.messageID)
        #expect(onA.first?.data["provider"]?.stringValue == "sendgrid")
        #expect(onA.first?.data["provider_event_id"]?.stringValue == "evt-1")
        let onB = try await h.providerEvents(b)
        #expect(onB.map { $0.data["status"]?.stringValue } == ["opened", "clicked"])
        #expect(onB.last?.data["details"]?["url"]?.stringValue == "https://example.com/x")

        // SendGrid retries the whole batch: nothing new.
        let retry = try await h.postSendGrid(body)
        #expect(retry.status == 200)
        #expect(retry.json["duplicates"]?.intValue == 4)
        #expect(try await h.eventCount() == before + 4)

        // A later batch overlapping the first one appends only the new event.
        let overlap = JSON.array([
            ProviderPayloads.sendGridEvent("processed", id: "evt-1", logID: a.logID),
            ProviderPayloads.sendGridEvent("open", id: "evt-6", logID: a.logID),
        ]).bytes
        #expect(try await h.postSendGrid(overlap).status == 200)
        #expect(try await h.eventCount() == before + 5)
        await h.stop()
    }

    @Test func forgedReplayedTruncatedAndMalformedBatchesAppendNothing() async throws {
        let h = try await WebhookHarness.start()
        let a = try await h.seedLog()
        let before = try await h.eventCount()
        let body = JSON.array([ProviderPayloads.sendGridEvent("delivered", id: "evt-x", logID: a.logID)]).bytes

        // Signed by another key.
        let forged = try await h.postSendGrid(body, signer: .generate())
        #expect(forged.status == 403)
        // Body altered after signing.
        let altered = JSON.array([ProviderPayloads.sendGridEvent("bounce", id: "evt-x", logID: a.logID)]).bytes
        #expect(try await h.postSendGrid(altered, signedBody: body).status == 403)
        // Truncated in transit.
        #expect(try await h.postSendGrid(Array(body.dropLast(5)), signedBody: body).status == 403)
        // Signature replayed with another timestamp.
        let replayed = try await h.client.send(
            "POST", "/webhooks/sendgrid/site1", body: body,
            headers: [
                ("Content-Type", "application/json"),
                ("X-Twilio-Email-Event-Webhook-Signature",
                    Base64Signature.of(body, timestamp: "1700000000")),
                ("X-Twilio-Email-Event-Webhook-Timestamp", "1700000001"),
            ])
        #expect(replayed.status == 403)
        // No signature at all.
        let unsigned = try await h.postJSON("/webhooks/sendgrid/site1", body)
        #expect(unsigned.status == 401)
        // Genuinely signed but malformed: truncated JSON, not an array, an event without sg_event_id.
        #expect(try await h.postSendGrid(Array(body.dropLast(3))).status == 400)
        #expect(try await h.postSendGrid(Array("{\"event\":\"open\"}".utf8)).status == 400)
        let noID: JSON = [["event": "open", "timestamp": 1_700_000_000, "email": "a@b.c"]]
        #expect(try await h.postSendGrid(noID.bytes).status == 400)
        // A batch where one event of many is malformed is refused whole.
        let mixed = JSON.array([
            ProviderPayloads.sendGridEvent("open", id: "evt-ok", logID: a.logID),
            ["event": "open", "sg_event_id": "evt-bad", "timestamp": "yesterday"],
        ])
        #expect(try await h.postSendGrid(mixed.bytes).status == 400)

        #expect(try await h.eventCount() == before)
        await h.stop()
    }

    @Test func aThousandEventBatchIsOneRequestAndOneTransaction() async throws {
        let h = try await WebhookHarness.start()
        var logs: [MessageIdentity] = []
        for _ in 0..<10 { logs.append(try await h.seedLog()) }
        let kinds = ["processed", "delivered", "open", "click", "deferred"]
        var events: [JSON] = []
        for i in 0..<1_000 {
            events.append(ProviderPayloads.sendGridEvent(kinds[i % kinds.count], id: "batch-\(i)", logID: logs[i % 10].logID))
        }
        let r = try await h.postSendGrid(JSON.array(events).bytes)
        #expect(r.status == 200)
        #expect(r.json["attached"]?.intValue == 1_000)
        #expect(try await h.eventCount(type: "message.provider_event") == 1_000)
        let transactions = try await h.count(
            "SELECT count(DISTINCT tx_id) FROM events WHERE type = 'message.provider_event'")
        #expect(transactions == 1)
        await h.stop()
    }

    @Test func permanentBounceAndSpamReportAddSealedSuppressionsButBlockedDoesNot() async throws {
        let h = try await WebhookHarness.start()
        let a = try await h.seedLog()
        let body = JSON.array([
            ProviderPayloads.sendGridEvent(
                "bounce", id: "b-1", logID: a.logID, email: "Jane@Example.com",
                extra: ["type": "bounce", "reason": "550 5.1.1 unknown user", "status": "5.1.1"]),
            ProviderPayloads.sendGridEvent(
                "bounce", id: "b-2", logID: a.logID, email: "other@example.com",
                extra: ["type": "blocked", "reason": "temporarily blocked", "status": "4.0.0"]),
        ]).bytes
        let r = try await h.postSendGrid(body)
        #expect(r.status == 200)
        let suppressions = try await h.events(type: "suppression.added")
        #expect(suppressions.count == 1)
        let s = try #require(suppressions.first)
        #expect(s.data["reason"]?.stringValue == "bounced")
        #expect(s.data["source"]?.stringValue == "sendgrid")
        #expect(s.data["address"] == nil)
        let subject = try await h.app.store.pool.withConnection { [vault = h.app.vault] c in
            try vault.subjectHash(tenant: "site1", subject: "jane@example.com", on: c)
        }
        #expect(s.data["address_subject"]?.stringValue == subject)
        #expect(s.stream == "suppression-" + subject)
        #expect(try await h.personal(s)?["address"]?.stringValue == "jane@example.com")
        let bounce = try await h.providerEvents(a).first
        #expect(bounce?.data["details"]?["bounce_type"]?.stringValue == "bounce")
        #expect(bounce?.data["details"]?["bounce_details"]?.stringValue == "550 5.1.1 unknown user")
        // Retrying adds no second suppression.
        #expect(try await h.postSendGrid(body).status == 200)
        #expect(try await h.eventCount(type: "suppression.added") == 1)
        await h.stop()
    }
}

/// A SendGrid-style signature with the shared test key.
enum Base64Signature {
    static func of(_ body: [UInt8], timestamp: String) -> String {
        Base64.encode(WebhookTestKeys.sendGrid.sign(Array(timestamp.utf8) + body))
    }
}
