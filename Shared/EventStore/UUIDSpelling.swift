import Foundation

extension UUID {
    /// Whether `text` is this id's canonical lowercase text (`lowercaseText`), compared without
    /// building a string: the appender checks every row the INSERT returns this way.
    func isSpelled(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { t in
            guard t.count == 36 else { return false }
            return withUnsafeBytes(of: uuid) { bytes in
                let digits: (UInt8) -> UInt8 = { $0 < 10 ? 0x30 + $0 : 0x57 + $0 }
                var o = 0
                for (i, b) in bytes.enumerated() {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        guard t[o] == UInt8(ascii: "-") else { return false }
                        o += 1
                    }
                    guard t[o] == digits(b >> 4), t[o + 1] == digits(b & 0x0F) else { return false }
                    o += 2
                }
                return true
            }
        }
    }
}
