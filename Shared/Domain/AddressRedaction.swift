/// Takes email addresses out of free text that comes from outside: an SMTP server's reply, a
/// provider's bounce reason or diagnostic, a clicked link. Such text is stored in clear in the
/// append-only event table (it is what a log's timeline shows), where an erasure cannot reach
/// it, and servers routinely quote the recipient (`550 5.1.1 <jane@example.com>: Recipient
/// address rejected`). Every address becomes `[address]`; the log names its recipient in the
/// sealed part of its request, which erasure does reach.
///
/// An address here is one or more local-part characters (letters, digits, `.`, `_`, `%`, `+`,
/// `-`, or any non-ASCII byte), an `@` (or `%40`, as in a link's query), and a domain of at least
/// two dot-separated labels (letters, digits, `-`, non-ASCII). The local part is deliberately
/// narrower than RFC 5322's, so that in `?email=jane%40example.com` only `jane%40example.com`
/// goes. `queued as 4B2@mx` (no dot in the domain) is left alone.
public enum AddressRedaction {
    /// What each address becomes.
    public static let placeholder = "[address]"

    /// `text` with every address replaced by `placeholder`.
    public static func redacting(_ text: String) -> String {
        // Most text has no `@` (or `%`, for `%40`): returned as it is, nothing copied.
        guard text.utf8.contains(where: { $0 == 0x40 || $0 == 0x25 }) else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var copied = 0
        var i = 0
        while i < bytes.count {
            let atLength: Int
            if bytes[i] == 0x40 {
                atLength = 1
            } else if bytes[i] == 0x25, i + 2 < bytes.count, bytes[i + 1] == 0x34, bytes[i + 2] == 0x30 {
                atLength = 3  // %40
            } else {
                i += 1
                continue
            }
            var start = i
            while start > copied, isLocalPart(bytes[start - 1]) { start -= 1 }
            let end = domainEnd(bytes, from: i + atLength)
            if start < i, let end {
                out.append(contentsOf: bytes[copied..<start])
                out.append(contentsOf: placeholder.utf8)
                copied = end
                i = end
            } else {
                i += atLength
            }
        }
        guard copied > 0 else { return text }
        out.append(contentsOf: bytes[copied...])
        return String(decoding: out, as: UTF8.self)
    }

    /// Where a domain of at least two labels starting at `index` ends, or nil when there is none.
    private static func domainEnd(_ bytes: [UInt8], from index: Int) -> Int? {
        var j = index
        var labelLength = 0
        var sawDot = false
        var end: Int? = nil
        while j < bytes.count {
            let b = bytes[j]
            if isDomain(b) {
                labelLength += 1
                j += 1
                if sawDot { end = j }
            } else if b == 0x2E, labelLength > 0 {
                sawDot = true
                labelLength = 0
                j += 1
            } else {
                break
            }
        }
        return end
    }

    private static func isDomain(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b >= 0x80
    }

    private static func isLocalPart(_ b: UInt8) -> Bool {
        isDomain(b) || b == 0x2E || b == 0x5F || b == 0x25 || b == 0x2B
    }
}
