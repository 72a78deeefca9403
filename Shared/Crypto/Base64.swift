import Foundation

/// Base64 (RFC 4648 §4) and base64url (§5) helpers over byte arrays.
public enum Base64 {
    /// Standard base64 with padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString()
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
