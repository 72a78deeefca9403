import Domain
import Webhooks

/// The keys by which a provider event can name one of our logs, normalised, and the pure rule
/// that picks the log among the candidate rows found for them.
struct CorrelationKeys: Sendable, Hashable {
    /// The message hex of an echoed `log_id`.
    var logHex: String?
    /// The message hex inside our `Message-ID` (`log_<hex>@host`).
    var headerHex: String?
    /// The echoed `Message-ID`, without angle brackets.
    var messageIDHeader: String?
    /// The provider's message id, without angle brackets.
    var providerMessageID: String?

    init(logHex: String? = nil, headerHex: String? = nil, messageIDHeader: String? = nil, providerMessageID: String? = nil) {
        self.logHex = logHex
        self.headerHex = headerHex
        self.messageIDHeader = messageIDHeader
        self.providerMessageID = providerMessageID
    }

    init(_ event: ProviderEvent) {
        self.init(logID: event.logID, messageIDHeader: event.messageIDHeader, providerMessageID: event.providerMessageID)
    }

    init(logID: String?, messageIDHeader: String?, providerMessageID: String?) {
        logHex = logID.flatMap(Self.hex(ofLogID:))
        self.messageIDHeader = ProviderEvent.normalizedMessageID(messageIDHeader)
        headerHex = self.messageIDHeader.flatMap(Self.hex(ofMessageIDHeader:))
        self.providerMessageID = ProviderEvent.normalizedMessageID(providerMessageID)
    }

    /// The hexes worth looking up.
    var hexes: [String] { [logHex, headerHex].compactMap { $0 } }

    /// `log_<32 hex>` (or the bare hex, or a UUID) → 32 lowercase hex digits.
    static func hex(ofLogID text: String) -> String? {
        MessageIdentity(parsing: text.trimmingCharacters(in: .whitespaces))?.hex
    }

    /// `log_<32 hex>@host` → the hex; nil for any other Message-ID.
    static func hex(ofMessageIDHeader header: String) -> String? {
        guard let at = header.firstIndex(of: "@") else { return nil }
        let local = header[..<at]
        guard local.hasPrefix("log_"), local.count == 36 else { return nil }
        return MessageIdentity(parsing: String(local))?.hex
    }
}

/// One log a provider event may belong to (a row of `webhook_correlation`).
struct CorrelatedLog: Sendable, Hashable {
    var messageHex: String
    var logID: String
    var messageIDHeader: String?
    var providerMessageID: String?

    /// The message UUID text events carry in `message_id`.
    var messageID: String { MessageIdentity(parsing: messageHex)?.messageID ?? messageHex }
}

extension CorrelationKeys {
    /// The log these keys name among `candidates`, by precedence: echoed `log_id`, the hex in
    /// our Message-ID, the Message-ID itself, then the provider's message id.
    func match(in candidates: [CorrelatedLog]) -> CorrelatedLog? {
        if let logHex, let log = candidates.first(where: { $0.messageHex == logHex }) { return log }
        if let headerHex, let log = candidates.first(where: { $0.messageHex == headerHex }) { return log }
        if let messageIDHeader, let log = candidates.first(where: { $0.messageIDHeader == messageIDHeader }) { return log }
        if let providerMessageID, let log = candidates.first(where: { $0.providerMessageID == providerMessageID }) {
            return log
        }
        return nil
    }
}
