/// Authenticates API clients by per-site API keys, returning the site id (the tenant).
///
/// Accepted forms of `Authorization`:
/// - `Basic base64(site_id:api_key)`
/// - `Basic base64(api_key:)` — the key as user name and an empty password (sendwithus clients)
/// - `Bearer api_key`
///
/// Keys are compared in constant time. Any failure is a 401 with `WWW-Authenticate: Basic realm="api"`.
public struct APIKeyAuthenticator: RequestAuthenticator {
    private let keys: [(siteID: String, key: [UInt8])]

    /// `keys` maps site id to API key.
    public init(keys: [String: String]) {
        self.keys = keys.sorted { $0.key < $1.key }.map { (siteID: $0.key, key: Array($0.value.utf8)) }
    }

    public func authenticate(_ request: HTTPRequest) throws -> String {
        try authenticate(authorization: request.headers["Authorization"])
    }

    /// Authenticates a raw `Authorization` header value.
    public func authenticate(authorization: String?) throws(HTTPError) -> String {
        guard let authorization else { throw Self.failure("authentication required") }
        let bytes = Array(authorization.utf8)
        guard let space = bytes.firstIndex(of: 0x20) else { throw Self.failure("invalid credentials") }
        let scheme = bytes[..<space]
        var credentials = bytes[(space + 1)...]
        while let f = credentials.first, f == 0x20 { credentials = credentials.dropFirst() }
        if asciiCaseInsensitiveEquals(scheme, "bearer") {
            if let site = siteForKey(Array(credentials)) { return site }
        } else if asciiCaseInsensitiveEquals(scheme, "basic") {
            guard let decoded = Base64.decode(credentials) else { throw Self.failure("invalid credentials") }
            let (user, password) = splitOnce(decoded, UInt8(ascii: ":"))
            if password.isEmpty {
                if let site = siteForKey(Array(user)) { return site }
            } else {
                let userID = String(decoding: user, as: UTF8.self)
                var match: String? = nil
                for entry in keys where entry.siteID == userID {
                    if Self.constantTimeEquals(entry.key, Array(password)) { match = entry.siteID }
                }
                if let match { return match }
            }
        }
        throw Self.failure("invalid credentials")
    }

    /// Checks every key (no early exit) and returns the site whose key equals `candidate`.
    private func siteForKey(_ candidate: [UInt8]) -> String? {
        guard !candidate.isEmpty else { return nil }
        var found: String? = nil
        for entry in keys where Self.constantTimeEquals(entry.key, candidate) && found == nil {
            found = entry.siteID
        }
        return found
    }

    /// Compares in time that depends only on the lengths, never on where the bytes differ.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }

    static func failure(_ message: String) -> HTTPError {
        HTTPError(.unauthorized, message, headers: ["WWW-Authenticate": "Basic realm=\"api\""])
    }
}

/// Standard base64 (RFC 4648) decoding, padding optional.
enum Base64 {
    static func decode(_ input: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        var padding = 0
        for c in input {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default: return nil
            }
            if padding > 0 { return nil }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        if padding > 2 || bits >= 6 { return nil }
        return out
    }
}
