import Crypto
import Domain
import Foundation
import JSON
import Testing

@testable import Webhooks

/// A batch shaped like SendGrid's Event Webhook documentation (one event of each type), with our
/// `log_id` custom argument on some events.
let sendGridBatch = #"""
    [
      {"email":"example@test.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":"cat facts","sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","log_id":"log_4d2a9f"},
      {"email":"example@test.com","timestamp":1513299570,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"deferred","category":"cat facts","sg_event_id":"t7LEShmowp86DTdUW8M-GQ==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","response":"400 try again later","attempt":"5","log_id":"log_4d2a9f"},
      {"email":"example@test.com","timestamp":1513299571,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"delivered","category":"cat facts","sg_event_id":"rWVYmVk90MjZJ9iohOBa3w==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","response":"250 OK"},
      {"email":"example@test.com","timestamp":1513299572,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"open","category":"cat facts","sg_event_id":"FOTFFO0ecsBE-zxFXfs6WA==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","useragent":"Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)","ip":"255.255.255.255"},
      {"email":"example@test.com","timestamp":1513299573,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"click","category":"cat facts","sg_event_id":"kCAi1KttyQdEKHhdC-nuEA==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","useragent":"Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)","ip":"255.255.255.255","url":"http://www.sendgrid.com/"},
      {"email":"example@test.com","timestamp":1513299574,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"bounce","category":"cat facts","sg_event_id":"6g4ZI7SA-xmRDv57GoPIPw==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","reason":"500 unknown recipient","status":"5.0.0","type":"bounce"},
      {"email":"example@test.com","timestamp":1513299575,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"bounce","category":"cat facts","sg_event_id":"dA6EM0k6T0CEvZGiXbUd8A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","reason":"550 5.7.1 blocked by policy","status":"5.7.1","type":"blocked"},
      {"email":"example@test.com","timestamp":1513299576,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"dropped","category":"cat facts","sg_event_id":"zmzJhfJgAfUSOW80yEbPyw==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","reason":"Bounced Address","status":"5.0.0"},
      {"email":"example@test.com","timestamp":1513299577,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"spamreport","category":"cat facts","sg_event_id":"37nvH5QBz858KGVYCM4uOA==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000"},
      {"email":"example@test.com","timestamp":1513299578,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"unsubscribe","category":"cat facts","sg_event_id":"zz_BjPgU_5pS-J8vlfB1sg==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000"},
      {"email":"example@test.com","timestamp":1513299579,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"group_unsubscribe","category":"cat facts","sg_event_id":"ahSCB7xYcXFb-hEaawsPRw==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","useragent":"Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)","ip":"255.255.255.255","url":"http://www.sendgrid.com/","asm_group_id":10},
      {"email":"example@test.com","timestamp":1513299580,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"group_resubscribe","category":"cat facts","sg_event_id":"w_u0vJhLT-OFfprar5N93g==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","useragent":"Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)","ip":"255.255.255.255","url":"http://www.sendgrid.com/","asm_group_id":10}
    ]
    """#

/// An asynchronous bounce as SendGrid sends it: no `sg_message_id`, only our Message-ID.
let sendGridAsyncBounce = #"""
    [{"email":"john.doe@example.net","timestamp":1600112492,"smtp-id":"<log_77c1@mail.example.com>","event":"bounce","sg_event_id":"YmFzZTY0LWFzeW5jLWJvdW5jZQ==","sg_message_id":"","reason":"550 5.1.1 mailbox does not exist","status":"5.1.1","type":"bounce","bounce_classification":"Invalid Address"}]
    """#

@Suite struct SendGridWebhookTests {
    let key = ECDSAP256.PrivateKey.generate()
    let timestamp = "1600112502"

    func signature(_ body: [UInt8], key: ECDSAP256.PrivateKey? = nil, timestamp: String? = nil) -> String {
        Base64.encode((key ?? self.key).sign(Array((timestamp ?? self.timestamp).utf8) + body))
    }

    @Test func acceptsItsOwnSignature() {
        let body = Array(sendGridBatch.utf8)
        #expect(
            SendGridWebhook.verify(
                publicKeyBase64: key.publicKeyDERBase64, signatureBase64: signature(body), timestamp: timestamp,
                rawBody: body))
    }

    @Test func rejectsForgedTamperedAndMismatched() {
        let body = Array(sendGridBatch.utf8)
        let good = signature(body)
        let publicKey = key.publicKeyDERBase64
        // Another key signed it.
        let other = ECDSAP256.PrivateKey.generate()
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: signature(body, key: other), timestamp: timestamp, rawBody: body))
        // The configured key is another one.
        #expect(!SendGridWebhook.verify(publicKeyBase64: other.publicKeyDERBase64, signatureBase64: good, timestamp: timestamp, rawBody: body))
        // One byte of the body changed.
        var tampered = body
        tampered[20] ^= 0x01
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: good, timestamp: timestamp, rawBody: tampered))
        // Truncated body.
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: good, timestamp: timestamp, rawBody: body.dropLast()))
        // Another timestamp.
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: good, timestamp: "1600112503", rawBody: body))
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: good, timestamp: "", rawBody: body))
        // Garbage signatures and keys.
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: Base64.encode([UInt8](repeating: 7, count: 72)), timestamp: timestamp, rawBody: body))
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: "not base64!", timestamp: timestamp, rawBody: body))
        #expect(!SendGridWebhook.verify(publicKeyBase64: publicKey, signatureBase64: "", timestamp: timestamp, rawBody: body))
        #expect(!SendGridWebhook.verify(publicKeyBase64: "AAAA", signatureBase64: good, timestamp: timestamp, rawBody: body))
    }

    @Test func mapsEveryDocumentedEventType() throws {
        let batch = try SendGridWebhook.parseBatch(rawBody: Array(sendGridBatch.utf8))
        #expect(batch.events.map(\.status) == [
            .processed, .deferred, .delivered, .opened, .clicked, .bounced, .bounced, .dropped, .reportedAsSpam,
            .unsubscribed, .unsubscribed,
        ])
        #expect(batch.skipped == [SkippedProviderEvent(index: 11, eventType: "group_resubscribe")])
        for event in batch.events {
            #expect(event.provider == .sendGrid)
            #expect(event.recipient == "example@test.com")
            #expect(event.messageIDHeader == "14c5d75ce93.dfd.64b469@ismtpd-555")
            #expect(event.providerMessageID == "14c5d75ce93")
        }
        let e = batch.events
        #expect(e[0].occurredAtMilliseconds == 1_513_299_569_999)
        #expect(e[0].logID == "log_4d2a9f")
        #expect(e[2].logID == nil)
        #expect(e[0].message == "SendGrid: Message has been processed")
        #expect(e[3].message == "SendGrid: Message has been opened")
        #expect(e[3].logEvent.message == nil)  // the default, so the timeline can say "opened again"
        #expect(e[4].details.url == "http://www.sendgrid.com/")
        #expect(e[5].details == DeliveryDetails(bounceType: "bounce", bounceSubType: "5.0.0", bounceDetails: "500 unknown recipient"))
        #expect(e[5].suppresses)
        #expect(e[5].message == "SendGrid: Message has bounced: 500 unknown recipient")
        #expect(e[5].logEvent.message == "SendGrid: Message has bounced: 500 unknown recipient")
        #expect(e[6].details.bounceType == "blocked")
        #expect(!e[6].suppresses)
        #expect(!e[7].suppresses)
        #expect(e[7].details.bounceDetails == "Bounced Address")
        #expect(e[8].suppresses)
        #expect(e[9].suppresses && e[10].suppresses)
        #expect(!e[0].suppresses && !e[1].suppresses && !e[2].suppresses && !e[3].suppresses && !e[4].suppresses)
        #expect(e[1].details.bounceDetails == "400 try again later")
    }

    @Test func idsAreStableAndDistinct() throws {
        let first = try SendGridWebhook.parse(rawBody: Array(sendGridBatch.utf8))
        let second = try SendGridWebhook.parse(rawBody: Array(sendGridBatch.utf8))
        #expect(first.map(\.eventID) == second.map(\.eventID))
        #expect(Set(first.map(\.eventID)).count == first.count)
        #expect(first[0].eventID == ProviderEvent.deterministicID(provider: .sendGrid, providerEventKey: "rbtnWrG1DVDGGGFHFyun0A=="))
        #expect(first[0].providerEventKey == "rbtnWrG1DVDGGGFHFyun0A==")
    }

    @Test func asyncBounceWithoutMessageIDStillCorrelatesBySMTPID() throws {
        let events = try SendGridWebhook.parse(rawBody: Array(sendGridAsyncBounce.utf8))
        #expect(events.count == 1)
        #expect(events[0].providerMessageID == nil)
        #expect(events[0].messageIDHeader == "log_77c1@mail.example.com")
        #expect(events[0].details.bounceSubType == "Invalid Address")
        #expect(events[0].suppresses)
    }

    @Test(arguments: [
        ("W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3las1-5bf99c48d-5ztxc-18-5F1F9AA1-D8.0", "W86EgYT6SQKk0lRflfLRsA"),
        ("W86EgYT6SQKk0lRflfLRsA", "W86EgYT6SQKk0lRflfLRsA"),
        ("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "14c5d75ce93"),
    ])
    func stripsFilterSuffix(raw: String, expected: String) {
        #expect(SendGridWebhook.baseMessageID(raw) == expected)
    }

    @Test func emptyMessageIDIsNil() {
        #expect(SendGridWebhook.baseMessageID("") == nil)
        #expect(SendGridWebhook.baseMessageID(nil) == nil)
        #expect(SendGridWebhook.baseMessageID(".filter") == nil)
    }

    @Test func rejectsMalformedBodies() {
        let truncated = Array(sendGridBatch.utf8.dropLast(40))
        #expect(throws: WebhookError.self) { try SendGridWebhook.parse(rawBody: truncated) }
        #expect(throws: WebhookError.unexpectedShape("body is not a JSON array")) {
            try SendGridWebhook.parse(rawBody: Array(#"{"event":"open"}"#.utf8))
        }
        #expect(throws: WebhookError.self) { try SendGridWebhook.parse(rawBody: [UInt8]()) }
        #expect(throws: WebhookError.self) { try SendGridWebhook.parse(rawBody: Array("[1]".utf8)) }
        let missingID = #"[{"event":"open","timestamp":1,"sg_event_id":"a"},{"event":"open","timestamp":1,"email":"secret@example.com"}]"#
        do {
            _ = try SendGridWebhook.parse(rawBody: Array(missingID.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error == .missingField("sg_event_id", in: "event 1"))
            #expect(error.description == "missing field sg_event_id in event 1")
            #expect(!error.description.contains("secret"))
        }
        #expect(throws: WebhookError.invalidField("timestamp", in: "event 0")) {
            try SendGridWebhook.parse(rawBody: Array(#"[{"event":"open","timestamp":"soon","sg_event_id":"a"}]"#.utf8))
        }
        #expect(throws: WebhookError.missingField("event", in: "event 0")) {
            try SendGridWebhook.parse(rawBody: Array(#"[{"timestamp":1,"sg_event_id":"a"}]"#.utf8))
        }
    }

    @Test func emptyArrayIsNoEvents() throws {
        #expect(try SendGridWebhook.parse(rawBody: Array("[]".utf8)).isEmpty)
    }

    @Test func thousandEventBatchParsesFast() throws {
        var body = "["
        for i in 0..<1000 {
            if i > 0 { body += "," }
            body += #"{"email":"user\#(i)@example.com","timestamp":\#(1_600_000_000 + i),"smtp-id":"<log_\#(i)@mail.example.com>","event":"delivered","category":["transactional"],"sg_event_id":"event-\#(i)","sg_message_id":"W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3las1-5bf99c48d-5ztxc-18-5F1F9AA1-D8.\#(i)","response":"250 OK","tls":1,"log_id":"log_\#(i)"}"#
        }
        body += "]"
        let bytes = Array(body.utf8)
        let clock = ContinuousClock()
        var events: [ProviderEvent] = []
        let elapsed = try clock.measure { events = try SendGridWebhook.parse(rawBody: bytes) }
        #expect(events.count == 1000)
        #expect(Set(events.map(\.eventID)).count == 1000)
        #expect(events[999].logID == "log_999")
        // Generous for a debug build on a shared machine; typically a few milliseconds.
        #expect(elapsed < .seconds(1))
    }
}
