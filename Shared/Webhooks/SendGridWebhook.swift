import Crypto
import Domain
import Foundation
import JSON

/// SendGrid's Event Webhook: signature check and event parsing.
///
/// The body is a JSON array of events (`event`, `sg_event_id`, `sg_message_id`, `timestamp`,
/// `smtp-id`, `email`, `reason`, `status`, `type`, `url`, …) with the sender's custom arguments
/// (our `log_id`) flattened into each event.
public enum SendGridWebhook {
    /// The request header carrying the base64 ECDSA signature.
    public static let signatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
    /// The request header carrying the signed timestamp.
    public static let timestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"

    /// True when `signatureBase64` is a valid ECDSA P-256 / SHA-256 signature of
    /// `timestamp` followed by the raw body bytes, under the configured key (base64 DER
    /// `SubjectPublicKeyInfo`, as SendGrid shows it). False for a malformed key or signature.
    public static func verify(
        publicKeyBase64: String, signatureBase64: String, timestamp: String, rawBody: some Collection<UInt8>
    ) -> Bool {
        guard let key = try? ECDSAP256.PublicKey(derBase64: publicKeyBase64) else { return false }
        return verify(publicKey: key, signatureBase64: signatureBase64, timestamp: timestamp, rawBody: rawBody)
    }

    /// ``verify(publicKeyBase64:signatureBase64:timestamp:rawBody:)`` with a key parsed once.
    public static func verify(
        publicKey: ECDSAP256.PublicKey, signatureBase64: String, timestamp: String, rawBody: some Collection<UInt8>
    ) -> Bool {
        guard !timestamp.isEmpty else { return false }
        var signed = Array(timestamp.utf8)
        signed.append(contentsOf: rawBody)
        return publicKey.isValidSignature(base64: signatureBase64, for: signed)
    }

    /// The recognised events of a body; unknown event types are left out (see ``parseBatch(rawBody:)``).
    public static func parse(rawBody: some Collection<UInt8>) throws(WebhookError) -> [ProviderEvent] {
        try parseBatch(rawBody: rawBody).events
    }

    /// Parses the JSON array. Throws for a body that is not a JSON array of objects, or an event
    /// without `event`, `sg_event_id` or a numeric `timestamp`; events of other types (e.g.
    /// `group_resubscribe`) are returned in `skipped`.
    public static func parseBatch(rawBody: some Collection<UInt8>) throws(WebhookError) -> ProviderEventBatch {
        guard case .array(let items) = try JSON.parseWebhookBody(rawBody) else {
            throw .unexpectedShape("body is not a JSON array")
        }
        var batch = ProviderEventBatch()
        batch.events.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let fields = try EventFields(item, place: "event \(index)", what: "event \(index)")
            let type = try fields.requiredString("event")
            guard let status = status(for: type) else {
                batch.skipped.append(SkippedProviderEvent(index: index, eventType: type))
                continue
            }
            batch.events.append(try event(fields, type: type, status: status))
        }
        return batch
    }

    /// Strips SendGrid's filter suffix from `sg_message_id`: everything from the first `.`
    /// (`"W86EgYT6SQKk0lRflfLRsA.filterdrecv-…​.0"` → `"W86EgYT6SQKk0lRflfLRsA"`), which is
    /// the `X-Message-Id` returned when the message was sent. Nil when empty.
    public static func baseMessageID(_ sgMessageID: String?) -> String? {
        guard let text = sgMessageID?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        let base = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        return base.isEmpty ? nil : base
    }

    private static func status(for type: String) -> LogStatus? {
        switch type {
        case "processed": return .processed
        case "dropped": return .dropped
        case "delivered": return .delivered
        case "deferred": return .deferred
        case "bounce": return .bounced
        case "open": return .opened
        case "click": return .clicked
        case "spamreport": return .reportedAsSpam
        case "unsubscribe", "group_unsubscribe": return .unsubscribed
        default: return nil
        }
    }

    private static func event(_ fields: EventFields, type: String, status: LogStatus) throws(WebhookError) -> ProviderEvent {
        let eventKey = try fields.requiredString("sg_event_id")
        guard !eventKey.isEmpty else { throw .missingField("sg_event_id", in: fields.place) }
        let occurred = try fields.unixSecondsAsMilliseconds("timestamp")
        let reason = try fields.string("reason")
        var details = DeliveryDetails.none
        var suppresses = false
        var message: String? = nil
        switch status {
        case .bounced:
            // `type` is "bounce" (permanent: suppress) or "blocked" (temporary block: keep sending).
            let bounceType = (try fields.string("type")) ?? "bounce"
            details.bounceType = bounceType
            let classification = try fields.string("bounce_classification")
            let smtpStatus = try fields.string("status")
            details.bounceSubType = classification ?? smtpStatus
            details.bounceDetails = reason
            suppresses = bounceType != "blocked"
            message = ProviderEvent.message(status, .sendGrid, detail: reason)
        case .dropped:
            details.bounceDetails = reason
            message = ProviderEvent.message(status, .sendGrid, detail: reason)
        case .deferred:
            let response = try fields.string("response")
            details.bounceDetails = response
            message = ProviderEvent.message(status, .sendGrid, detail: response)
        case .clicked:
            details.url = try fields.string("url")
        case .reportedAsSpam:
            details.complaintType = "spamreport"
            suppresses = true
        case .unsubscribed:
            suppresses = true
            if type == "group_unsubscribe" {
                message = ProviderEvent.message(status, .sendGrid, detail: fields.scalarText("asm_group_id").map { "group \($0)" })
            }
        default:
            break
        }
        return ProviderEvent(
            provider: .sendGrid, providerEventKey: eventKey, status: status, occurredAtMilliseconds: occurred,
            logID: fields.scalarText("log_id"),
            messageIDHeader: ProviderEvent.normalizedMessageID(try fields.string("smtp-id")),
            providerMessageID: baseMessageID(try fields.string("sg_message_id")),
            recipient: try fields.string("email"), message: message, details: details, suppresses: suppresses)
    }
}
