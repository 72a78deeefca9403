import Crypto
import Domain
import Foundation
import JSON

/// The outcome of checking a Mailgun webhook signature.
public enum MailgunVerification: Sendable, Hashable {
    /// The HMAC matches and the timestamp is fresh.
    case valid
    /// The HMAC does not match (or the timestamp is not a number).
    case badSignature
    /// The HMAC matches but the timestamp is more than ``MailgunWebhook/maximumAge`` seconds from now.
    case stale
}

/// The `signature` object of a Mailgun webhook body.
public struct MailgunSignature: Sendable, Hashable {
    /// Unix seconds, as sent (the text that was signed).
    public var timestamp: String
    /// A random 50-character token: remember it to refuse replays.
    public var token: String
    /// Hex HMAC-SHA256 of timestamp + token under the signing key.
    public var signature: String

    public init(timestamp: String, token: String, signature: String) {
        self.timestamp = timestamp
        self.token = token
        self.signature = signature
    }
}

/// A parsed Mailgun webhook body: its signature and its event.
public struct MailgunPayload: Sendable, Hashable {
    public var signature: MailgunSignature
    /// The event (at most one), in `batch.events`; an unknown type lands in `batch.skipped`.
    public var batch: ProviderEventBatch
    /// Shorthand for `batch.events`.
    public var events: [ProviderEvent] { batch.events }
}

/// Mailgun webhooks (`{"signature": {...}, "event-data": {...}}`): signature check and parsing.
///
/// Replay refusal by remembering tokens is the caller's job (it needs the database); the token is
/// exposed in ``MailgunSignature/token``.
///
/// Event ids are derived from `event-data.id` plus the event's own `timestamp` (as sent), since
/// Mailgun's id is unique only within a day. Not from the signature token: Mailgun re-signs each
/// retry (a retry hours later must carry a fresh timestamp), so a token-based key would let a
/// retry of an already stored event through as a new one.
public enum MailgunWebhook {
    /// The largest accepted distance between the signed timestamp and now, in seconds.
    public static let maximumAge: Int64 = 300

    /// Checks `signature` = hex HMAC-SHA256(`timestamp` + `token`) under `signingKey` (constant
    /// time, case-insensitive hex), then that `timestamp` is within ``maximumAge`` of `now` (unix
    /// seconds).
    public static func verify(
        signingKey: String, timestamp: String, token: String, signature: String, now: Int64
    ) -> MailgunVerification {
        let expected = Array(
            HMACSHA256.authenticationCode(key: Array(signingKey.utf8), message: Array((timestamp + token).utf8))
                .hexString.utf8)
        guard !signingKey.isEmpty, ConstantTime.equals(expected, Array(signature.lowercased().utf8)) else {
            return .badSignature
        }
        guard let seconds = Int64(timestamp) else { return .badSignature }
        let age = now > seconds ? now - seconds : seconds - now
        return age > maximumAge ? .stale : .valid
    }

    /// ``verify(signingKey:timestamp:token:signature:now:)`` on a parsed signature, `now` as a Date.
    public static func verify(signingKey: String, signature: MailgunSignature, now: Date) -> MailgunVerification {
        verify(
            signingKey: signingKey, timestamp: signature.timestamp, token: signature.token,
            signature: signature.signature, now: Int64(now.timeIntervalSince1970.rounded(.down)))
    }

    /// Parses the body. Throws for malformed JSON, a missing `signature` part, or an event
    /// without `event`, `id` or `timestamp`.
    public static func parse(rawBody: some Collection<UInt8>) throws(WebhookError) -> MailgunPayload {
        let root = try EventFields(JSON.parseWebhookBody(rawBody), place: "body", what: "body")
        guard let signatureFields = try root.object("signature") else { throw .missingField("signature", in: "body") }
        let sig = EventFields(signatureFields.object, place: "signature")
        guard let timestamp = sig.scalarText("timestamp") else { throw .missingField("timestamp", in: "signature") }
        let signature = MailgunSignature(
            timestamp: timestamp, token: try sig.requiredString("token"), signature: try sig.requiredString("signature"))
        guard let dataFields = try root.object("event-data") else { throw .missingField("event-data", in: "body") }
        let data = EventFields(dataFields.object, place: "event-data")
        let type = try data.requiredString("event")
        guard let event = try event(data, type: type) else {
            return MailgunPayload(
                signature: signature, batch: ProviderEventBatch(skipped: [SkippedProviderEvent(index: 0, eventType: type)]))
        }
        return MailgunPayload(signature: signature, batch: ProviderEventBatch(events: [event]))
    }

    private static func event(_ data: EventFields, type: String) throws(WebhookError) -> ProviderEvent? {
        let status: LogStatus
        var details = DeliveryDetails.none
        var suppresses = false
        var message: String? = nil
        let deliveryStatus = try data.object("delivery-status")
        switch type {
        case "accepted":
            status = .processed
        case "rejected":
            status = .dropped
            let reason = try data.object("reject")?.string("reason")
            details.bounceDetails = reason
            message = ProviderEvent.message(.dropped, .mailgun, detail: reason)
        case "delivered":
            status = .delivered
        case "failed":
            let severity = try data.string("severity")
            let reason = try data.string("reason")
            let text = try Self.deliveryStatusText(deliveryStatus)
            if reason?.hasPrefix("suppress-") == true {
                // Mailgun did not try: the address is on its own suppression list.
                status = .dropped
                details.bounceSubType = reason
                details.bounceDetails = text
            } else if severity == "permanent" {
                status = .bounced
                details = DeliveryDetails(bounceType: "Permanent", bounceSubType: reason, bounceDetails: text)
                suppresses = true
            } else {
                status = .deferred
                details = DeliveryDetails(bounceType: "Transient", bounceSubType: reason, bounceDetails: text)
            }
            message = ProviderEvent.message(status, .mailgun, detail: text)
        case "opened":
            status = .opened
        case "clicked":
            status = .clicked
            details.url = try data.string("url")
        case "complained":
            status = .reportedAsSpam
            details.complaintType = "complained"
            suppresses = true
        case "unsubscribed":
            status = .unsubscribed
            suppresses = true
        default:
            return nil
        }
        let id = try data.requiredString("id")
        let occurred = try data.unixSecondsAsMilliseconds("timestamp")
        let timestampText = data.scalarText("timestamp") ?? ""
        let headers = try data.object("message")?.object("headers")
        let messageID = ProviderEvent.normalizedMessageID(try headers?.string("message-id"))
        return ProviderEvent(
            provider: .mailgun, providerEventKey: "\(id):\(timestampText)", status: status,
            occurredAtMilliseconds: occurred,
            logID: try data.object("user-variables")?.scalarText("log_id"), messageIDHeader: messageID,
            providerMessageID: messageID, recipient: try data.string("recipient"), message: message, details: details,
            suppresses: suppresses)
    }

    /// `delivery-status.message`, else `description`, else nothing.
    private static func deliveryStatusText(_ status: EventFields?) throws(WebhookError) -> String? {
        guard let status else { return nil }
        for key in ["message", "description"] {
            if let text = status.scalarText(key)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
                return text
            }
        }
        return nil
    }
}
