import Foundation

/// One identity per message: `/v1/Email/` shows it as a UUID `MessageId`, the sendwithus API as
/// `log_` plus the same 32 hex digits.
///
/// The texts are built and parsed with a byte table, not through Foundation's `uuidString`,
/// `lowercased` and `replacingOccurrences` or `UUID(uuidString:)` (sscanf): the delivery worker
/// and the projections call these for every message event.
public struct MessageIdentity: Sendable, Hashable {
    public let uuid: UUID

    public init(_ uuid: UUID = UUID()) { self.uuid = uuid }

    /// 32 lowercase hex digits.
    public var hex: String { Self.text(uuid, dashed: false, prefix: []) }
    /// `log_<hex>`.
    public var logID: String { Self.text(uuid, dashed: false, prefix: Array("log_".utf8)) }
    /// The UUID text `/v1/Email/` shows.
    public var messageID: String { Self.text(uuid, dashed: true, prefix: []) }

    /// Accepts `log_<32 hex>`, `<32 hex>` or a UUID (any case).
    public init?(parsing text: String) {
        var utf8 = Substring(text).utf8[...]
        if utf8.starts(with: "log_".utf8) { utf8 = utf8.dropFirst(4) }
        let dashed: Bool
        switch utf8.count {
        case 32: dashed = false
        case 36: dashed = true
        default: return nil
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        var index = utf8.startIndex
        var offset = 0
        var byte = 0
        while byte < 16 {
            if dashed && (offset == 8 || offset == 13 || offset == 18 || offset == 23) {
                guard utf8[index] == UInt8(ascii: "-") else { return nil }
                index = utf8.index(after: index)
                offset += 1
                continue
            }
            guard let high = Self.nibble(utf8[index]) else { return nil }
            index = utf8.index(after: index)
            guard let low = Self.nibble(utf8[index]) else { return nil }
            index = utf8.index(after: index)
            offset += 2
            bytes[byte] = high << 4 | low
            byte += 1
        }
        let b = bytes
        self.uuid = UUID(
            uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// `prefix` then the 16 bytes in lowercase hex, with the UUID dashes when `dashed`.
    private static func text(_ uuid: UUID, dashed: Bool, prefix: [UInt8]) -> String {
        let count = prefix.count + (dashed ? 36 : 32)
        return String(unsafeUninitializedCapacity: count) { out in
            var i = 0
            for c in prefix {
                out[i] = c
                i += 1
            }
            withUnsafeBytes(of: uuid.uuid) { bytes in
                for (n, b) in bytes.enumerated() {
                    if dashed && (n == 4 || n == 6 || n == 8 || n == 10) {
                        out[i] = UInt8(ascii: "-")
                        i += 1
                    }
                    out[i] = digits[Int(b >> 4)]
                    out[i + 1] = digits[Int(b & 0x0F)]
                    i += 2
                }
            }
            return i
        }
    }
}
