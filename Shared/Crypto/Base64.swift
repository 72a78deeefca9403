import Foundation

/// Base64 (RFC 4648 §4) and base64url (§5) helpers over byte arrays.
public enum Base64 {
    /// Standard base64 with padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        // Written directly into the string's storage: Foundation's `Data.base64EncodedString`
        // (a `Data` copy, then bridging) showed in profiles of ingest, which encodes every
        // sealed box.
        if let s = bytes.withContiguousStorageIfAvailable({ encodeBuffer($0) }) { return s }
        return Array(bytes).withUnsafeBufferPointer { encodeBuffer($0) }
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static func encodeBuffer(_ input: UnsafeBufferPointer<UInt8>) -> String {
        let n = input.count
        let length = (n + 2) / 3 * 4
        guard length > 0 else { return "" }
        return alphabet.withUnsafeBufferPointer { a in
            String(unsafeUninitializedCapacity: length) { out in
                var i = 0
                var o = 0
                while i + 3 <= n {
                    let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    out[o] = a[Int(v >> 18)]
                    out[o + 1] = a[Int(v >> 12 & 0x3F)]
                    out[o + 2] = a[Int(v >> 6 & 0x3F)]
                    out[o + 3] = a[Int(v & 0x3F)]
                    i += 3
                    o += 4
                }
                let rest = n - i
                if rest > 0 {
                    let v = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                    out[o] = a[Int(v >> 18)]
                    out[o + 1] = a[Int(v >> 12 & 0x3F)]
                    out[o + 2] = rest == 2 ? a[Int(v >> 6 & 0x3F)] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                    o += 4
                }
                return o
            }
        }
    }

    /// Decodes standard, padded base64; nil if the text is not valid base64.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        Data(base64Encoded: String(text)).map { [UInt8]($0) }
    }

    /// base64url without padding (as used in JWTs and URL tokens).
    public static func encodeURL(_ bytes: some Collection<UInt8>) -> String {
        var text = encode(bytes)
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// Decodes base64url, with or without padding; nil if invalid (standard `+` and `/` are rejected).
    public static func decodeURL(_ text: some StringProtocol) -> [UInt8]? {
        guard !text.contains("+"), !text.contains("/") else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        switch standard.utf8.count % 4 {
        case 0: break
        case 2: standard += "=="
        case 3: standard += "="
        default: return nil
        }
        return decode(standard)
    }
}
