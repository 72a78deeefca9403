import Crypto
import Domain
import Foundation

/// One provider webhook event, normalised: what happened, to which message, and when.
///
/// Produced by the provider parsers (``SendGridWebhook``, ``SESNotification``,
/// ``PostmarkWebhook``, ``MailgunWebhook``) from bytes alone. The delivery service matches it to a
/// log by any of ``logID``, ``messageIDHeader`` or ``providerMessageID``, deduplicates on
/// ``eventID`` and appends ``logEvent``.
public struct ProviderEvent: Sendable, Hashable {
    /// The provider that reported the event.
    public var provider: MailProvider
    /// A deterministic id: the same provider event (a retry) always yields the same UUID, see
    /// ``deterministicID(provider:providerEventKey:)``.
    public var eventID: UUID
    /// The provider's own key the id was derived from (e.g. SendGrid `sg_event_id`; SNS
    /// `MessageId` plus `#<index>` for multi-recipient SES events; Mailgun `id:timestamp`; a hex
    /// SHA-256 for Postmark).
    public var providerEventKey: String
    /// The log status this event maps to. Never `re_opened`/`re_clicked`: the timeline decides.
    public var status: LogStatus
    /// When it happened according to the provider, unix milliseconds.
    public var occurredAtMilliseconds: Int64
    /// Our log id, echoed back as custom data (`log_id`), when present.
    public var logID: String?
    /// Our `Message-ID` header as echoed by the provider, without angle brackets.
    public var messageIDHeader: String?
    /// The provider's message id (the one from its SMTP/API reply, recorded on `sent`).
    public var providerMessageID: String?
    /// The recipient address the event concerns, when the provider names one.
    public var recipient: String?
    /// The human message, e.g. "SendGrid: Message has been opened" or
    /// "SES: Message has bounced: smtp; 550 5.1.1 user unknown".
    public var message: String
    /// Bounce type/subtype/details, complaint type, clicked URL.
    public var details: DeliveryDetails
    /// True when the recipient must go on the suppression list (permanent bounce, complaint,
    /// unsubscribe).
    public var suppresses: Bool

    /// Creates an event; ``eventID`` is derived from `provider` and `providerEventKey`.
    public init(
        provider: MailProvider, providerEventKey: String, status: LogStatus, occurredAtMilliseconds: Int64,
        logID: String? = nil, messageIDHeader: String? = nil, providerMessageID: String? = nil,
        recipient: String? = nil, message: String? = nil, details: DeliveryDetails = .none, suppresses: Bool = false
    ) {
        self.provider = provider
        self.providerEventKey = providerEventKey
        self.eventID = Self.deterministicID(provider: provider, providerEventKey: providerEventKey)
        self.status = status
        self.occurredAtMilliseconds = occurredAtMilliseconds
        self.logID = logID
        self.messageIDHeader = messageIDHeader
        self.providerMessageID = providerMessageID
        self.recipient = recipient
        self.message = message ?? status.defaultMessage(provider: provider)
        self.details = details
        self.suppresses = suppresses
    }

    /// The event to append to the log. Its `message` is nil when ours is the status default, so
    /// that an open shown as `re_opened` by the timeline reads "opened again".
    public var logEvent: MessageLogEvent {
        MessageLogEvent(
            status: status, occurredAtMilliseconds: occurredAtMilliseconds, provider: provider,
            message: message == status.defaultMessage(provider: provider) ? nil : message, details: details)
    }

    /// A name-based UUID: the first 16 bytes of SHA-256(`"<provider>:<key>"`), with the version
    /// nibble set to 5 and the RFC 4122 variant bits. Stable across processes and releases.
    public static func deterministicID(provider: MailProvider, providerEventKey: String) -> UUID {
        var bytes = SHA256.hash(Array("\(provider.rawValue):\(providerEventKey)".utf8))
        bytes[6] = (bytes[6] & 0x0f) | 0x50
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    /// A `Message-ID` value without surrounding whitespace and angle brackets
    /// (`" <a@b> "` → `"a@b"`); nil when nothing is left.
    public static func normalizedMessageID(_ value: String?) -> String? {
        guard let value else { return nil }
        if let ascii = asciiNormalizedMessageID(value) { return ascii.isEmpty ? nil : ascii }
        guard var text = Optional(value.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        if text.hasPrefix("<") { text.removeFirst() }
        if text.hasSuffix(">") { text.removeLast() }
        text = text.trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    /// `normalizedMessageID` for ASCII text without Foundation (the outbox and correlation
    /// projections call it for every sent message); nil when the text is not ASCII.
    private static func asciiNormalizedMessageID(_ value: String) -> String? {
        let utf8 = value.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        // ASCII members of .whitespacesAndNewlines (tab, LF, VT, FF, CR, space) and of .whitespaces.
        func isSpaceOrNewline(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, isSpaceOrNewline(utf8[start]) { start = utf8.index(after: start) }
        while start < end, isSpaceOrNewline(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        if start < end, utf8[start] == UInt8(ascii: "<") { start = utf8.index(after: start) }
        if start < end, utf8[utf8.index(before: end)] == UInt8(ascii: ">") { end = utf8.index(before: end) }
        while start < end, isSpace(utf8[start]) { start = utf8.index(after: start) }
        while start < end, isSpace(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return String(value[start..<end])
    }

    /// `"<default message>: <detail>"` when `detail` has text, else nil (use the default).
    static func message(_ status: LogStatus, _ provider: MailProvider, detail: String?) -> String? {
        guard let detail = detail?.trimmingCharacters(in: .whitespacesAndNewlines), !detail.isEmpty else { return nil }
        return "\(status.defaultMessage(provider: provider)): \(detail)"
    }
}

/// An event in a webhook body that was well-formed but of a type we do not record (e.g.
/// SendGrid `group_resubscribe`, Postmark `SubscriptionChange` that re-enables sending).
public struct SkippedProviderEvent: Sendable, Hashable {
    /// Position of the event in the body (0 for single-event bodies).
    public var index: Int
    /// The provider's event type name as sent.
    public var eventType: String

    public init(index: Int, eventType: String) {
        self.index = index
        self.eventType = eventType
    }
}

/// The events of one webhook body, and those skipped as of no interest.
public struct ProviderEventBatch: Sendable, Hashable {
    /// The recognised events, in body order.
    public var events: [ProviderEvent]
    /// Well-formed events of types we do not record.
    public var skipped: [SkippedProviderEvent]

    public init(events: [ProviderEvent] = [], skipped: [SkippedProviderEvent] = []) {
        self.events = events
        self.skipped = skipped
    }
}
