import Crypto
import Domain
import Foundation
import JSON

/// Postmark webhooks: HTTP Basic credentials check and record parsing.
///
/// One record per request, by `RecordType`: Delivery, Bounce, SpamComplaint, Open, Click,
/// SubscriptionChange. `MessageID` is Postmark's id (→ providerMessageID), `Metadata.log_id` is
/// ours (→ logID). Postmark sends no event id, so the event id is derived from the SHA-256 of
/// the raw body (a retry resends the same bytes).
public enum PostmarkWebhook {
    /// True when `authorizationHeader` is `Basic base64(username:password)` with the configured
    /// credentials. Compares SHA-256 digests in constant time, so neither the values nor their
    /// lengths leak through timing. Always false when the configured username or password is empty.
    public static func verify(authorizationHeader: String?, username: String, password: String) -> Bool {
        guard !username.isEmpty, !password.isEmpty, let header = authorizationHeader else { return false }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 6, trimmed.prefix(6).lowercased() == "basic " else { return false }
        guard let decoded = Base64.decode(trimmed.dropFirst(6).trimmingCharacters(in: .whitespaces)),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return false }
        let given = SHA256.hash(decoded[..<colon]) + SHA256.hash(decoded[(colon + 1)...])
        let expected = SHA256.hash(Array(username.utf8)) + SHA256.hash(Array(password.utf8))
        return ConstantTime.equals(given, expected)
    }

    /// The record's event, or none for a record type we do not record.
    public static func parse(rawBody: some Collection<UInt8>) throws(WebhookError) -> [ProviderEvent] {
        try parseBatch(rawBody: rawBody).events
    }

    /// Parses one record. Throws for malformed JSON, a missing `RecordType` or a missing time
    /// field; unknown record types and a SubscriptionChange that re-enables sending are skipped.
    public static func parseBatch(rawBody: some Collection<UInt8>) throws(WebhookError) -> ProviderEventBatch {
        let bytes = Array(rawBody)
        let fields = try EventFields(JSON.parseWebhookBody(bytes), place: "Postmark record", what: "body")
        let type = try fields.requiredString("RecordType")
        let status: LogStatus
        var occurred: Int64
        var recipient = try fields.string("Recipient")
        var details = DeliveryDetails.none
        var suppresses = false
        var message: String? = nil
        switch type {
        case "Delivery":
            status = .delivered
            occurred = try fields.isoTimeAsMilliseconds("DeliveredAt")
        case "Bounce":
            let bounceType = try fields.string("Type")
            let permanent = bounceType.map(Self.permanentBounceTypes.contains) ?? false
            status = .bounced
            occurred = try fields.isoTimeAsMilliseconds("BouncedAt")
            recipient = try fields.string("Email") ?? recipient
            let description = try fields.string("Description")
            details = DeliveryDetails(
                bounceType: permanent ? "Permanent" : (bounceType.map(Self.transientBounceTypes.contains) ?? false)
                    ? "Transient" : "Undetermined",
                bounceSubType: bounceType, bounceDetails: try fields.string("Details") ?? description)
            suppresses = permanent
            message = ProviderEvent.message(.bounced, .postmark, detail: description)
        case "SpamComplaint":
            status = .reportedAsSpam
            occurred = try fields.isoTimeAsMilliseconds("BouncedAt")
            recipient = try fields.string("Email") ?? recipient
            details = DeliveryDetails(complaintType: try fields.string("Type") ?? "SpamComplaint")
            suppresses = true
        case "Open":
            status = .opened
            occurred = try fields.isoTimeAsMilliseconds("ReceivedAt")
        case "Click":
            status = .clicked
            occurred = try fields.isoTimeAsMilliseconds("ReceivedAt")
            details = DeliveryDetails(url: try fields.string("OriginalLink"))
        case "SubscriptionChange":
            guard try fields.bool("SuppressSending") == true else {
                return ProviderEventBatch(skipped: [SkippedProviderEvent(index: 0, eventType: type)])
            }
            status = .unsubscribed
            occurred = try fields.isoTimeAsMilliseconds("ChangedAt")
            suppresses = true
            let reason = try fields.string("SuppressionReason")
            details = DeliveryDetails(complaintType: reason == "SpamComplaint" ? reason : nil)
            message = ProviderEvent.message(.unsubscribed, .postmark, detail: reason)
        default:
            return ProviderEventBatch(skipped: [SkippedProviderEvent(index: 0, eventType: type)])
        }
        let event = ProviderEvent(
            provider: .postmark, providerEventKey: SHA256.hash(bytes).hexString, status: status,
            occurredAtMilliseconds: occurred, logID: try fields.object("Metadata")?.scalarText("log_id"),
            messageIDHeader: nil, providerMessageID: try fields.string("MessageID"), recipient: recipient,
            message: message, details: details, suppresses: suppresses)
        return ProviderEventBatch(events: [event])
    }

    /// Bounce `Type`s after which Postmark deactivates the address.
    static let permanentBounceTypes: Set<String> = ["HardBounce", "BadEmailAddress", "ManuallyDeactivated"]
    /// Bounce `Type`s that are temporary.
    static let transientBounceTypes: Set<String> = ["SoftBounce", "Transient", "DnsError", "AutoResponder"]
}
