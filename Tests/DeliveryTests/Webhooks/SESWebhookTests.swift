import Crypto
import DeliveryService
import Domain
import Foundation
import JSON
import TestSupport
import Testing

@Suite struct SESWebhookTests {
    @Test func multiRecipientPermanentBounceIsVerifiedAttachedAndSuppressesEachAddress() async throws {
        let h = try await WebhookHarness.start()
        let a = try await h.seedLog(provider: .ses, providerMessageID: "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000")
        let before = try await h.eventCount()
        let message = ProviderPayloads.sesBounce(
            recipients: ["jane@example.com", "mary@example.com"], messageIDHeader: "<\(a.logID)@mail.test>",
            sesMessageID: "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000")
        for version in ["1", "2"] {
            let body = try ProviderPayloads.sns(
                message: message, messageID: "sns-bounce-1", certificateURL: h.sns.certificateURL, version: version)
            let r = try await h.postJSON("/webhooks/ses/site1", body)
            #expect(r.status == 200)
        }
        // The certificate was fetched once and then served from memory.
        #expect(h.sns.certificateFetches.value == 1)
        // Two bounces (one per recipient) and two suppressions; the second post (v2 signature,
        // same SNS MessageId) was a duplicate.
        #expect(try await h.eventCount() == before + 4)
        let bounces = try await h.providerEvents(a)
        #expect(bounces.count == 2)
        #expect(bounces.allSatisfy { $0.data["status"]?.stringValue == "bounced" && $0.data["provider"]?.stringValue == "ses" })
        #expect(bounces.first?.data["details"]?["bounce_type"]?.stringValue == "Permanent")
        #expect(bounces.first?.data["details"]?["bounce_sub_type"]?.stringValue == "General")
        #expect(bounces.first?.data["details"]?["bounce_details"]?.stringValue == "smtp; 550 5.1.1 user unknown")
        let suppressions = try await h.events(type: "suppression.added")
        var addresses: [String] = []
        for s in suppressions { addresses.append(try await h.personal(s)?["address"]?.stringValue ?? "?") }
        #expect(addresses.sorted() == ["jane@example.com", "mary@example.com"])
        await h.stop()
    }

    @Test func notificationsInAnyOrderAndMatchedByProviderMessageID() async throws {
        let h = try await WebhookHarness.start()
        let sesID = "010001812345abcd-11111111-2222-3333-4444-555555555555-000000"
        // The delivery arrives before we recorded `sent`: kept, then attached.
        let early = try ProviderPayloads.sns(
            message: ProviderPayloads.sesDelivery(
                recipients: ["jane@example.com"], messageIDHeader: "<someone-else@example.com>", sesMessageID: sesID),
            messageID: "sns-delivery-1", certificateURL: h.sns.certificateURL)
        let r = try await h.postJSON("/webhooks/ses/site1", early)
        #expect(r.status == 200)
        #expect(r.json["unmatched"]?.intValue == 1)
        let a = try await h.seedLog(provider: .ses, providerMessageID: sesID)
        #expect(try await eventually { try await h.providerEvents(a).count == 1 })
        #expect(try await h.providerEvents(a).first?.data["status"]?.stringValue == "delivered")
        await h.stop()
    }

    @Test func forgedOrUntrustedSNSMessagesAppendNothing() async throws {
        let h = try await WebhookHarness.start()
        let a = try await h.seedLog(provider: .ses)
        let before = try await h.eventCount()
        let message = ProviderPayloads.sesDelivery(
            recipients: ["jane@example.com"], messageIDHeader: "<\(a.logID)@mail.test>", sesMessageID: "x-1")
        // Signed by another key than the certificate's.
        let forged = try ProviderPayloads.sns(
            message: message, certificateURL: h.sns.certificateURL, authority: WebhookTestKeys.otherSNS)
        #expect(try await h.postJSON("/webhooks/ses/site1", forged).status == 403)
        // Message altered after signing.
        let genuine = try ProviderPayloads.sns(message: message, certificateURL: h.sns.certificateURL)
        let altered = Array(String(decoding: genuine, as: UTF8.self).replacingOccurrences(of: "Delivery", with: "Bounce").utf8)
        #expect(try await h.postJSON("/webhooks/ses/site1", altered).status == 403)
        // A certificate URL outside the allowed prefixes (a real-looking AWS one is not allowed either here).
        let elsewhere = try ProviderPayloads.sns(message: message, certificateURL: "http://127.0.0.1:1/evil.pem")
        #expect(try await h.postJSON("/webhooks/ses/site1", elsewhere).status == 403)
        // A topic that is not configured.
        let otherTopic = try ProviderPayloads.sns(
            message: message, topic: "arn:aws:sns:us-east-1:999999999999:other", certificateURL: h.sns.certificateURL)
        #expect(try await h.postJSON("/webhooks/ses/site1", otherTopic).status == 403)
        // Truncated and malformed envelopes.
        #expect(try await h.postJSON("/webhooks/ses/site1", Array(genuine.dropLast(10))).status == 400)
        #expect(try await h.postJSON("/webhooks/ses/site1", Array("{\"Type\":\"Notification\"}".utf8)).status == 400)
        // A genuine envelope whose SES message is not JSON.
        let notSES = try ProviderPayloads.sns(message: "hello", certificateURL: h.sns.certificateURL)
        #expect(try await h.postJSON("/webhooks/ses/site1", notSES).status == 400)
        #expect(try await h.eventCount() == before)
        await h.stop()
    }

    @Test func subscriptionConfirmationIsRecordedAndConfirmed() async throws {
        let h = try await WebhookHarness.start()
        let body = try ProviderPayloads.sns(
            type: "SubscriptionConfirmation",
            message: "You have chosen to subscribe to the topic \(WebhookTestKeys.topic).\nTo confirm the subscription, visit the SubscribeURL included in this message.",
            messageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", certificateURL: h.sns.certificateURL,
            subscribeURL: h.sns.base + "confirm?Action=ConfirmSubscription&Token=abc")
        let r = try await h.postJSON("/webhooks/ses/site1", body)
        #expect(r.status == 200)
        #expect(h.sns.counter.value == 1)
        #expect(try await h.eventCount(type: "webhook.sns_subscription_received") == 1)
        #expect(try await h.eventCount(type: "webhook.sns_subscription_confirmed") == 1)
        let recorded = try await h.events(type: "webhook.sns_subscription_received").first
        #expect(recorded?.data["topic_arn"]?.stringValue == WebhookTestKeys.topic)
        #expect(recorded?.data["subscribe_url"] == nil)

        // A SubscribeURL outside the allowed prefixes is not fetched.
        let elsewhere = try ProviderPayloads.sns(
            type: "SubscriptionConfirmation", message: "confirm", messageID: "other-sub",
            certificateURL: h.sns.certificateURL, subscribeURL: "http://127.0.0.2:9/confirm")
        #expect(try await h.postJSON("/webhooks/ses/site1", elsewhere).status == 502)
        #expect(h.sns.counter.value == 1)
        #expect(try await h.eventCount(type: "webhook.sns_subscription_confirmed") == 1)
        await h.stop()
    }
}
