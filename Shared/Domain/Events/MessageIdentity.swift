import Foundation
import UUIDText

/// One identity per message: `/v1/Email/` shows it as a UUID `MessageId`, the sendwithus API as
/// `log_` plus the same 32 hex digits. New ids are time-ordered (UUID version 7, 62 random
/// bits): a message's events land at the right edge of the `(tenant, stream, version)` index,
/// as tracked events' do, instead of on a random leaf of an index that grows with every message.
///
/// The texts are built and parsed by `UUIDText`, not through Foundation's `uuidString`,
/// `lowercased` and `replacingOccurrences` or `UUID(uuidString:)` (sscanf): the delivery worker
/// and the projections call these for every message event.
public struct MessageIdentity: Sendable, Hashable {
    public let uuid: UUID

    public init(_ uuid: UUID = UUID()) { self.uuid = uuid }

    /// 32 lowercase hex digits.
    public var hex: String { uuid.hexText(dashed: false) }
    /// `log_<hex>`.
    public var logID: String { uuid.hexText(dashed: false, prefix: "log_") }
    /// The UUID text `/v1/Email/` shows.
    public var messageID: String { uuid.lowercaseText }

    /// Accepts `log_<32 hex>`, `<32 hex>` or a UUID (any case).
    public init?(parsing text: String) {
        var utf8 = Substring(text).utf8
        if utf8.starts(with: "log_".utf8) { utf8 = utf8.dropFirst(4) }
        guard let uuid = UUID(hexText: utf8) else { return nil }
        self.uuid = uuid
    }
}
