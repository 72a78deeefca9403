import Foundation

/// UUID text written and parsed directly: Foundation's `uuidString` (sprintf), `lowercased()`
/// and `UUID(uuidString:)` (sscanf) showed in profiles of the append path, of projection
/// rebuilds and of the delivery worker. The one place the project turns UUIDs into text and back.
extension UUID {
    private static let digits: StaticString = "0123456789abcdef"

    /// Writes `prefix` then the 16 bytes as lowercase hex, with the dashes of the canonical form
    /// (8-4-4-4-12) when `dashed`; returns how many bytes were written.
    private func writeHex(dashed: Bool, prefix: StaticString, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var i = 0
        prefix.withUTF8Buffer { p in
            for c in p {
                out[i] = c
                i += 1
            }
        }
        Self.digits.withUTF8Buffer { digits in
            withUnsafeBytes(of: uuid) { bytes in
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
        }
        return i
    }

    /// `prefix` then the 32 hex digits, lowercase, with the canonical dashes when `dashed`.
    public func hexText(dashed: Bool, prefix: StaticString = "") -> String {
        String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + (dashed ? 36 : 32)) {
            writeHex(dashed: dashed, prefix: prefix, into: $0)
        }
    }

    /// The canonical lowercase text (8-4-4-4-12 hex digits), as PostgreSQL prints a `uuid`.
    public var lowercaseText: String { hexText(dashed: true) }

    /// Appends `lowercaseText`'s bytes to `out`, without building the string.
    public func appendLowercaseText(to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { text in
            let n = writeHex(dashed: true, prefix: "", into: text)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<n]))
        }
    }

    /// Whether `text` is exactly `lowercaseText`, compared without building a string.
    public func isSpelled(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { t in
            guard t.count == 36 else { return false }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { own in
                _ = writeHex(dashed: true, prefix: "", into: own)
                return memcmp(own.baseAddress!, t.baseAddress!, 36) == 0
            }
        }
    }

    /// Parses 32 hex digits, or the 36-character canonical form with its dashes; either case.
    public init?(hexText text: Substring.UTF8View) {
        let dashed: Bool
        switch text.count {
        case 32: dashed = false
        case 36: dashed = true
        default: return nil
        }
        var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let ok = withUnsafeMutableBytes(of: &u) { out -> Bool in
            var index = text.startIndex
            var offset = 0
            for o in 0..<16 {
                if dashed && (offset == 8 || offset == 13 || offset == 18 || offset == 23) {
                    guard text[index] == UInt8(ascii: "-") else { return false }
                    index = text.index(after: index)
                    offset += 1
                }
                guard let high = Self.nibble(text[index]) else { return false }
                index = text.index(after: index)
                guard let low = Self.nibble(text[index]) else { return false }
                index = text.index(after: index)
                offset += 2
                out[o] = high << 4 | low
            }
            return true
        }
        guard ok else { return nil }
        self.init(uuid: u)
    }

    /// Parses the canonical text (8-4-4-4-12 hex digits, either case), as `UUID(uuidString:)`
    /// does, without Foundation's parser.
    public init?(text: String) {
        guard text.utf8.count == 36 else { return nil }
        self.init(hexText: Substring(text).utf8)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x57
        case 0x41...0x46: c - 0x37
        default: nil
        }
    }
}
