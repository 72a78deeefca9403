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
}
