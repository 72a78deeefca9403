import Crypto
import Domain
import Foundation
import JSON
import Testing

@testable import Webhooks

let mailgunSigningKey = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"

/// A Mailgun webhook body shaped like the documentation's, signed with `mailgunSigningKey`.
func mailgunBody(
    eventData: String, timestamp: String = "1529006854", token: String = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
    key: String = mailgunSigningKey
) -> [UInt8] {
    let signature = HMACSHA256.authenticationCode(key: Array(key.utf8), message: Array((timestamp + token).utf8)).hexString
    return Array(
        #"{"signature":{"timestamp":"\#(timestamp)","token":"\#(token)","signature":"\#(signature)"},"event-data":\#(eventData)}"#.utf8)
}

let mailgunDelivered = #"""
    {"id":"CPgfbmQMTCKtHW6uIWtuVe","timestamp":1521472262.908181,"log-level":"info","event":"delivered","delivery-status":{"tls":true,"mx-host":"smtp-in.example.com","code":250,"description":"","session-seconds":0.4331989288330078,"utf8":true,"attempt-no":1,"message":"OK","certificate-verified":true},"flags":{"is-routed":false,"is-authenticated":true,"is-system-test":false,"is-test-mode":false},"envelope":{"transport":"smtp","sender":"bob@sandbox.mailgun.org","sending-ip":"209.61.154.250","targets":"alice@example.com"},"message":{"headers":{"to":"Alice <alice@example.com>","message-id":"<log_9f00@mail.example.com>","from":"Bob <bob@sandbox.mailgun.org>","subject":"Test delivered webhook"},"attachments":[],"size":111},"recipient":"alice@example.com","recipient-domain":"example.com","storage":{"url":"https://se.api.mailgun.net/v3/domains/sandbox.mailgun.org/messages/message_key","key":"message_key"},"campaigns":[],"tags":["my_tag_1","my_tag_2"],"user-variables":{"my_var_1":"Mailgun Variable #1","log_id":"log_9f00"}}
    """#
let mailgunFailedPermanent = #"""
    {"id":"G9Bn5sl1TC6nu79C8C0bwg","timestamp":1521233195.375624,"log-level":"error","event":"failed","severity":"permanent","reason":"bounce","delivery-status":{"attempt-no":1,"message":"5.1.1 The email account that you tried to reach does not exist.","code":550,"description":"","session-seconds":0.0},"flags":{"is-routed":false,"is-authenticated":true,"is-system-test":false,"is-test-mode":false},"envelope":{"transport":"smtp","sender":"bob@sandbox.mailgun.org","targets":"alice@example.com"},"message":{"headers":{"to":"Alice <alice@example.com>","message-id":"log_9f00@mail.example.com","from":"Bob <bob@sandbox.mailgun.org>","subject":"Test permanent_fail webhook"},"attachments":[],"size":111},"recipient":"alice@example.com","recipient-domain":"example.com","storage":{"url":"https://se.api.mailgun.net/v3/domains/sandbox.mailgun.org/messages/message_key","key":"message_key"},"campaigns":[],"tags":["my_tag_1"],"user-variables":{"log_id":"log_9f00"}}
    """#
let mailgunFailedTemporary = #"""
    {"id":"Fs7-5t81S2ispqxqDw2U4Q","timestamp":1521472262.908181,"log-level":"warn","event":"failed","severity":"temporary","reason":"generic","delivery-status":{"attempt-no":1,"message":"","code":452,"description":"4.2.2 Mailbox full","session-seconds":0.1},"message":{"headers":{"message-id":"log_9f00@mail.example.com"}},"recipient":"alice@example.com","user-variables":{"log_id":"log_9f00"}}
    """#
let mailgunSuppressed = #"""
    {"id":"W3X4JOhFT-OZidZGKKr9iA","timestamp":1521472262.908181,"log-level":"error","event":"failed","severity":"permanent","reason":"suppress-bounce","delivery-status":{"attempt-no":1,"message":"","code":605,"description":"Not delivering to previously bounced address","session-seconds":0.0},"message":{"headers":{"message-id":"log_9f00@mail.example.com"}},"recipient":"alice@example.com"}
    """#
let mailgunOpened = #"""
    {"id":"DACSsAdVSeGpLid7TN03WA","timestamp":1529006854.329574,"log-level":"info","event":"opened","message":{"headers":{"message-id":"20130503182626.18666.16540@sandbox.mailgun.org"}},"recipient":"alice@example.com","recipient-domain":"example.com","ip":"50.56.129.169","geolocation":{"country":"US","region":"CA","city":"San Francisco"},"client-info":{"client-os":"Linux","device-type":"desktop","client-name":"Chrome","client-type":"browser","user-agent":"Mozilla/5.0"},"campaigns":[],"tags":["my_tag_1"],"user-variables":{"log_id":"log_9f00"}}
    """#
let mailgunClicked = #"""
    {"id":"Ase7i2zsRYeDXztHGENqRA","timestamp":1529006854.329574,"log-level":"info","event":"clicked","url":"https://example.com/welcome","message":{"headers":{"message-id":"log_9f00@mail.example.com"}},"recipient":"alice@example.com","user-variables":{"log_id":"log_9f00"}}
    """#
let mailgunComplained = #"""
    {"id":"-Agny091SquKnsrW2NEKUA","timestamp":1521233123.501324,"log-level":"warn","event":"complained","envelope":{"sending-ip":"173.193.210.33"},"message":{"headers":{"to":"Alice <alice@example.com>","message-id":"log_9f00@mail.example.com","from":"Bob <bob@sandbox.mailgun.org>","subject":"Test complained webhook"},"attachments":[],"size":111},"recipient":"alice@example.com","campaigns":[],"tags":["my_tag_1"],"user-variables":{"log_id":"log_9f00"}}
    """#
let mailgunUnsubscribed = #"""
    {"id":"Ase7i2zsRYeDXztHGENqRA2","timestamp":1521243339.873676,"log-level":"info","event":"unsubscribed","message":{"headers":{"message-id":"log_9f00@mail.example.com"}},"recipient":"alice@example.com","user-variables":{"log_id":"log_9f00"}}
    """#

@Suite struct MailgunWebhookTests {
    let token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"

    func signature(_ timestamp: String, _ token: String, key: String = mailgunSigningKey) -> String {
        HMACSHA256.authenticationCode(key: Array(key.utf8), message: Array((timestamp + token).utf8)).hexString
    }

    @Test func verification() {
        let sig = signature("1529006854", token)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token, signature: sig, now: 1_529_006_854) == .valid)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token, signature: sig.uppercased(), now: 1_529_006_900) == .valid)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token, signature: sig, now: 1_529_006_854 + 300) == .valid)
        // Stale, either way round.
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token, signature: sig, now: 1_529_006_854 + 301) == .stale)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token, signature: sig, now: 1_529_006_854 - 301) == .stale)
        // Forged: wrong key, other token, other timestamp, garbage.
        #expect(MailgunWebhook.verify(signingKey: "key-other", timestamp: "1529006854", token: token, signature: sig, now: 1_529_006_854) == .badSignature)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token + "x", signature: sig, now: 1_529_006_854) == .badSignature)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006855", token: token, signature: sig, now: 1_529_006_854) == .badSignature)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token, signature: "", now: 1_529_006_854) == .badSignature)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "1529006854", token: token, signature: String(sig.dropLast()), now: 1_529_006_854) == .badSignature)
        #expect(MailgunWebhook.verify(signingKey: "", timestamp: "1529006854", token: token, signature: signature("1529006854", token, key: ""), now: 1_529_006_854) == .badSignature)
        // Signed, but the timestamp is not a number.
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, timestamp: "soon", token: token, signature: signature("soon", token), now: 1_529_006_854) == .badSignature)
    }

    @Test func parsedSignatureVerifies() throws {
        let payload = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunOpened))
        #expect(payload.signature.token == token)
        #expect(payload.signature.timestamp == "1529006854")
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, signature: payload.signature, now: Date(timeIntervalSince1970: 1_529_006_860)) == .valid)
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, signature: payload.signature, now: Date(timeIntervalSince1970: 1_529_016_860)) == .stale)
        let forged = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunOpened, key: "key-attacker"))
        #expect(MailgunWebhook.verify(signingKey: mailgunSigningKey, signature: forged.signature, now: Date(timeIntervalSince1970: 1_529_006_860)) == .badSignature)
    }

    @Test func delivered() throws {
        let events = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunDelivered)).events
        #expect(events.count == 1)
        let e = events[0]
        #expect(e.provider == .mailgun)
        #expect(e.status == .delivered)
        #expect(e.occurredAtMilliseconds == 1_521_472_262_908)
        #expect(e.messageIDHeader == "log_9f00@mail.example.com")
        #expect(e.providerMessageID == "log_9f00@mail.example.com")
        #expect(e.logID == "log_9f00")
        #expect(e.recipient == "alice@example.com")
        #expect(e.providerEventKey == "CPgfbmQMTCKtHW6uIWtuVe:1521472262.908181")
        #expect(!e.suppresses)
    }

    @Test func failures() throws {
        let permanent = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunFailedPermanent)).events[0]
        #expect(permanent.status == .bounced)
        #expect(permanent.suppresses)
        #expect(permanent.details == DeliveryDetails(bounceType: "Permanent", bounceSubType: "bounce", bounceDetails: "5.1.1 The email account that you tried to reach does not exist."))
        #expect(permanent.message == "Mailgun: Message has bounced: 5.1.1 The email account that you tried to reach does not exist.")
        let temporary = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunFailedTemporary)).events[0]
        #expect(temporary.status == .deferred)
        #expect(!temporary.suppresses)
        #expect(temporary.details.bounceDetails == "4.2.2 Mailbox full")
        let suppressed = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunSuppressed)).events[0]
        #expect(suppressed.status == .dropped)
        #expect(!suppressed.suppresses)
        #expect(suppressed.logID == nil)
    }

    @Test func engagementAndComplaints() throws {
        let opened = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunOpened)).events[0]
        #expect(opened.status == .opened)
        #expect(opened.messageIDHeader == "20130503182626.18666.16540@sandbox.mailgun.org")
        let clicked = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunClicked)).events[0]
        #expect(clicked.status == .clicked)
        #expect(clicked.details.url == "https://example.com/welcome")
        let complained = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunComplained)).events[0]
        #expect(complained.status == .reportedAsSpam)
        #expect(complained.suppresses)
        let unsubscribed = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunUnsubscribed)).events[0]
        #expect(unsubscribed.status == .unsubscribed)
        #expect(unsubscribed.suppresses)
        let stored = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: #"{"id":"x","timestamp":1,"event":"stored"}"#))
        #expect(stored.events.isEmpty)
        #expect(stored.batch.skipped == [SkippedProviderEvent(index: 0, eventType: "stored")])
    }

    @Test func idsSurviveResigningAndDistinguishDays() throws {
        let a = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunDelivered)).events[0].eventID
        // A retry hours later: same event, new timestamp and token in the signature.
        let retry = try MailgunWebhook.parse(
            rawBody: mailgunBody(eventData: mailgunDelivered, timestamp: "1529016854", token: "b" + String(token.dropFirst())))
        #expect(retry.events[0].eventID == a)
        #expect(retry.signature.token != token)
        // Same Mailgun id on another day (ids are unique only within a day): another event.
        let nextDay = mailgunDelivered.replacingOccurrences(of: "1521472262.908181", with: "1521558662.908181")
        #expect(try MailgunWebhook.parse(rawBody: mailgunBody(eventData: nextDay)).events[0].eventID != a)
        let otherEvent = try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunOpened)).events[0].eventID
        #expect(a != otherEvent)
    }

    @Test func malformedBodiesAreErrors() {
        #expect(throws: WebhookError.self) { try MailgunWebhook.parse(rawBody: mailgunBody(eventData: mailgunDelivered).dropLast(2)) }
        #expect(throws: WebhookError.missingField("signature", in: "body")) {
            try MailgunWebhook.parse(rawBody: Array(#"{"event-data":\#(mailgunDelivered)}"#.utf8))
        }
        #expect(throws: WebhookError.missingField("token", in: "signature")) {
            try MailgunWebhook.parse(rawBody: Array(#"{"signature":{"timestamp":"1","signature":"ab"},"event-data":\#(mailgunDelivered)}"#.utf8))
        }
        #expect(throws: WebhookError.missingField("event-data", in: "body")) {
            try MailgunWebhook.parse(rawBody: Array(#"{"signature":{"timestamp":"1","token":"t","signature":"ab"}}"#.utf8))
        }
        #expect(throws: WebhookError.missingField("id", in: "event-data")) {
            try MailgunWebhook.parse(rawBody: mailgunBody(eventData: #"{"timestamp":1,"event":"delivered"}"#))
        }
        #expect(throws: WebhookError.missingField("timestamp", in: "event-data")) {
            try MailgunWebhook.parse(rawBody: mailgunBody(eventData: #"{"id":"x","event":"delivered"}"#))
        }
    }
}
