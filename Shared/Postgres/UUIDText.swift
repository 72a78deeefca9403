import Foundation

extension UUID {
    /// The canonical lowercase text (8-4-4-4-12 hex digits), as PostgreSQL prints a `uuid`;
    /// written directly, without Foundation's formatted `uuidString` and a `lowercased()` copy
    /// (both showed in profiles of the append path).
    public var lowercaseText: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                let digits: (UInt8) -> UInt8 = { $0 < 10 ? 0x30 + $0 : 0x57 + $0 }
                var o = 0
                for (i, b) in bytes.enumerated() {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[o] = UInt8(ascii: "-")
                        o += 1
                    }
                    out[o] = digits(b >> 4)
                    out[o + 1] = digits(b & 0x0F)
                    o += 2
                }
                return o
            }
        }
    }

    /// Parses the canonical text (8-4-4-4-12 hex digits, either case), as `UUID(uuidString:)`
    /// does, but directly: Foundation's parser goes through `sscanf`, which was the largest
    /// single cost in profiles of a projection rebuild.
    public init?(text: String) {
        var text = text
        let parsed: uuid_t? = text.withUTF8 { b in
            guard b.count == 36, b[8] == 0x2D, b[13] == 0x2D, b[18] == 0x2D, b[23] == 0x2D else { return nil }
            var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &u) { out -> Bool in
                var i = 0
                for o in 0..<16 {
                    if i == 8 || i == 13 || i == 18 || i == 23 { i += 1 }
                    guard let hi = Self.hexValue(b[i]), let lo = Self.hexValue(b[i + 1]) else { return false }
                    out[o] = hi << 4 | lo
                    i += 2
                }
                return true
            }
            return ok ? u : nil
        }
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x57
        case 0x41...0x46: return c - 0x37
        default: return nil
        }
    }
}
