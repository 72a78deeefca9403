/// Percent-decoding (RFC 3986) of path segments and form/query components.
enum PercentDecoding {
    /// Decodes `%XX` escapes in `bytes`; with `plusAsSpace`, `+` becomes a space (forms and queries).
    /// Returns nil for a malformed escape, an escaped NUL (`%00`, which PostgreSQL text cannot
    /// hold), or when the result is not valid UTF-8.
    static func decode(_ bytes: some Collection<UInt8>, plusAsSpace: Bool) -> String? {
        var needsWork = false
        for b in bytes where b == UInt8(ascii: "%") || (plusAsSpace && b == UInt8(ascii: "+")) {
            needsWork = true
            break
        }
        if !needsWork {
            return String(validating: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var it = bytes.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else {
                    return nil
                }
                guard hv != 0 || lv != 0 else { return nil }
                out.append(UInt8(hv << 4 | lv))
            } else if plusAsSpace && b == UInt8(ascii: "+") {
                out.append(0x20)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
