#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes responses in HTTP/1.1 wire format, with a `Date` header cached per second.
/// Not thread-safe: each I/O thread owns one.
struct HTTPResponseSerializer {
    private var cachedSecond: time_t = -1
    private var cachedDate: [UInt8] = []

    /// Appends the status line, headers, `Content-Length`, `Date`, `Connection` (when it
    /// differs from the version default) and, unless `headOnly`, the body.
    mutating func write(
        _ response: HTTPResponse, version: HTTPVersion, keepAlive: Bool, headOnly: Bool, requestID: String?,
        into out: inout [UInt8]
    ) {
        out.append(contentsOf: version == .http1_0 ? Self.http10 : Self.http11)
        let code = response.status.code
        appendDecimal(code, into: &out)
        out.append(0x20)
        out.append(contentsOf: response.status.reasonPhrase.utf8)
        out.append(contentsOf: Self.crlf)
        for (name, value) in response.headers {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: Self.colonSpace)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: Self.crlf)
        }
        if let requestID {
            out.append(contentsOf: Self.requestIDName)
            out.append(contentsOf: requestID.utf8)
            out.append(contentsOf: Self.crlf)
        }
        if response.status.allowsBody {
            out.append(contentsOf: Self.contentLength)
            appendDecimal(response.body.count, into: &out)
            out.append(contentsOf: Self.crlf)
        }
        out.append(contentsOf: Self.dateName)
        out.append(contentsOf: date())
        out.append(contentsOf: Self.crlf)
        if !keepAlive {
            out.append(contentsOf: Self.connectionClose)
        } else if version == .http1_0 {
            out.append(contentsOf: Self.connectionKeepAlive)
        }
        out.append(contentsOf: Self.crlf)
        if !headOnly && response.status.allowsBody { out.append(contentsOf: response.body) }
    }

    /// The IMF-fixdate for the current second.
    mutating func date() -> [UInt8] {
        let now = time(nil)
        if now != cachedSecond {
            cachedSecond = now
            cachedDate = Self.imfFixdate(now)
        }
        return cachedDate
    }

    static func imfFixdate(_ t: time_t) -> [UInt8] {
        var t = t
        var tm = tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let s =
            "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
        return Array(s.utf8)
    }

    static let http11: [UInt8] = Array("HTTP/1.1 ".utf8)
    static let http10: [UInt8] = Array("HTTP/1.0 ".utf8)
    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let colonSpace: [UInt8] = [UInt8(ascii: ":"), 0x20]
    static let contentLength: [UInt8] = Array("Content-Length: ".utf8)
    static let dateName: [UInt8] = Array("Date: ".utf8)
    static let requestIDName: [UInt8] = Array("X-Request-Id: ".utf8)
    static let connectionClose: [UInt8] = Array("Connection: close\r\n".utf8)
    static let connectionKeepAlive: [UInt8] = Array("Connection: keep-alive\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}

/// Appends the decimal digits of a non-negative `value`.
func appendDecimal(_ value: Int, into out: inout [UInt8]) {
    if value < 10 {
        out.append(UInt8(truncatingIfNeeded: 0x30 + value))
        return
    }
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var n = value
    var count = 0
    withUnsafeMutableBytes(of: &digits) { p in
        while n > 0 {
            p[count] = UInt8(truncatingIfNeeded: 0x30 + n % 10)
            n /= 10
            count += 1
        }
        for i in stride(from: count - 1, through: 0, by: -1) { out.append(p[i]) }
    }
}
