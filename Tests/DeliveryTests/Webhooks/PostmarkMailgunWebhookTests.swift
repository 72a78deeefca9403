import Crypto
import DeliveryService
import Domain
import Foundation
import JSON
import TestSupport
import Testing

@Suite struct PostmarkWebhookTests {
    @Test func basicCredentialsAreRequiredAndRecordsAreAttached() async throws {
        let h = try await WebhookHarness.start()
        let a = try await h.seedLog(provider: .postmark, providerMessageID: "883953f4-6105-42a2-a16a-77a8eac79483")
        let before = try await h.eventCount()
        let delivery = ProviderPayloads.postmarkDelivery(messageID: "883953f4-6105-42a2-a16a-77a8eac79483", logID: nil)
        let good = ProviderPayloads.basic(WebhookTestKeys.postmark.0, WebhookTestKeys.postmark.1)

        #expect(try await h.postJSON("/webhooks/postmark/site1", delivery).status == 401)
        let wrong = ProviderPayloads.basic(WebhookTestKeys.postmark.0, "guess")
        #expect(try await h.postJSON("/webhooks/postmark/site1", delivery, headers: [wrong]).status == 401)
        #expect(try await h.postJSON("/webhooks/postmark/site1", Array(delivery.dropLast(4)), headers: [good]).status == 400)
        #expect(try await h.eventCount() == before)

        #expect(try await h.postJSON("/webhooks/postmark/site1", delivery, headers: [good]).status == 200)
        #expect(try await h.postJSON("/webhooks/postmark/site1", delivery, headers: [good]).status == 200)
        let bounce = ProviderPayloads.postmarkBounce(messageID: "883953f4-6105-42a2-a16a-77a8eac79483", logID: a.logID)
        #expect(try await h.postJSON("/webhooks/postmark/site1", bounce, headers: [good]).status == 200)
        let events = try await h.providerEvents(a)
        #expect(events.map { $0.data["status"]?.stringValue } == ["delivered", "bounced"])
        #expect(events.last?.data["details"]?["bounce_type"]?.stringValue == "Permanent")
        #expect(events.last?.data["details"]?["bounce_sub_type"]?.stringValue == "HardBounce")
        #expect(try await h.eventCount(type: "suppression.added") == 1)
        #expect(try await h.eventCount() == before + 3)
        await h.stop()
    }
}

@Suite struct MailgunWebhookTests {
    @Test func signedFreshEventsAreStoredOnceAndReplaysForgeriesAndStaleOnesRefused() async throws {
        let h = try await WebhookHarness.start()
        let a = try await h.seedLog(provider: .mailgun)
        let before = try await h.eventCount()
        // The event id includes the event's timestamp: the retry must carry the same one even
        // when the second turns between the two calls.
        let sentAt = Int(Date().timeIntervalSince1970)
        let body = ProviderPayloads.mailgun(event: "delivered", logID: a.logID, timestamp: sentAt).bytes
        #expect(try await h.postJSON("/webhooks/mailgun/site1", body).status == 200)
        #expect(try await h.eventCount() == before + 1)
        // The same request again (same token): a replay.
        #expect(try await h.postJSON("/webhooks/mailgun/site1", body).status == 403)
        // Mailgun's own retry (fresh token, same event): accepted, appended once.
        let retry = ProviderPayloads.mailgun(event: "delivered", logID: a.logID, timestamp: sentAt).bytes
        let retried = try await h.postJSON("/webhooks/mailgun/site1", retry)
        #expect(retried.status == 200)
        #expect(retried.json["duplicates"]?.intValue == 1)
        // Wrong key, stale timestamp, truncated, malformed.
        let forged = ProviderPayloads.mailgun(event: "opened", logID: a.logID, key: "not-the-key").bytes
        #expect(try await h.postJSON("/webhooks/mailgun/site1", forged).status == 403)
        let stale = ProviderPayloads.mailgun(
            event: "opened", logID: a.logID, timestamp: Int(Date().timeIntervalSince1970) - 600).bytes
        #expect(try await h.postJSON("/webhooks/mailgun/site1", stale).status == 403)
        let fresh = ProviderPayloads.mailgun(event: "opened", logID: a.logID).bytes
        #expect(try await h.postJSON("/webhooks/mailgun/site1", Array(fresh.dropLast(2))).status == 400)
        #expect(try await h.postJSON("/webhooks/mailgun/site1", Array("{\"event-data\":{}}".utf8)).status == 400)
        // Signed with site2's key but posted to site1.
        let otherSite = ProviderPayloads.mailgun(event: "opened", logID: a.logID, key: "another-key").bytes
        #expect(try await h.postJSON("/webhooks/mailgun/site1", otherSite).status == 403)
        #expect(try await h.eventCount() == before + 1)

        // A permanent failure suppresses the address.
        let failed = ProviderPayloads.mailgun(
            event: "failed", logID: a.logID,
            extra: ["severity": "permanent", "reason": "bounce", "delivery-status": ["message": "550 No such user", "code": 550]],
            eventID: "fail-1").bytes
        #expect(try await h.postJSON("/webhooks/mailgun/site1", failed).status == 200)
        #expect(try await h.eventCount(type: "suppression.added") == 1)
        #expect(try await h.providerEvents(a).map { $0.data["status"]?.stringValue } == ["delivered", "bounced"])
        await h.stop()
    }
}
