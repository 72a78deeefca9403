import Foundation

/// One identity per message: `/v1/Email/` shows it as a UUID `MessageId`, the sendwithus API as
/// `log_` plus the same 32 hex digits.
public struct MessageIdentity: Sendable, Hashable {
    public let uuid: UUID

    public init(_ uuid: UUID = UUID()) { self.uuid = uuid }

    /// 32 lowercase hex digits.
    public var hex: String { uuid.uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
    /// `log_<hex>`.
    public var logID: String { "log_" + hex }
    /// The UUID text `/v1/Email/` shows.
    public var messageID: String { uuid.uuidString.lowercased() }

    /// Accepts `log_<32 hex>`, `<32 hex>` or a UUID.
    public init?(parsing text: String) {
        var t = Substring(text)
        if t.hasPrefix("log_") { t = t.dropFirst(4) }
        if let u = UUID(uuidString: String(t)) {
            self.uuid = u
            return
        }
        guard t.count == 32, t.allSatisfy(\.isHexDigit) else { return nil }
        let s = String(t)
        let dashed = [s.prefix(8), s.dropFirst(8).prefix(4), s.dropFirst(12).prefix(4), s.dropFirst(16).prefix(4), s.dropFirst(20)]
            .joined(separator: "-")
        guard let u = UUID(uuidString: dashed) else { return nil }
        self.uuid = u
    }
}
