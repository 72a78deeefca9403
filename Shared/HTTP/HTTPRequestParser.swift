/// What `HTTPRequestParser.parse(_:)` found in the bytes it was given.
public enum HTTPParseResult: Sendable {
    /// The request is incomplete: call again with the same bytes plus more.
    case needMoreData
    /// The head asked for `Expect: 100-continue` and no body byte has arrived yet: send
    /// `100 Continue`, then call again when more bytes arrive. Signalled at most once per request.
    case expectContinue
    /// A complete request; `consumed` bytes from the start of the buffer belong to it.
    case request(HTTPRequestHead, body: [UInt8], consumed: Int)
    /// The request is invalid: answer `error.status` and close the connection.
    case error(HTTPParseError)
}

/// An incremental HTTP/1.1 request parser: a pure state machine with no I/O.
///
/// Give it the bytes received so far for the current request (always starting at the request's
/// first byte); it remembers how far it has looked so each call only scans new bytes. Once it
/// returns `.request`, drop the consumed bytes and keep calling with what follows (pipelining).
///
/// It is strict: CRLF line endings only, no obs-fold, token methods and field names, one
/// consistent `Content-Length`, `chunked` as the only transfer coding and never together with
/// `Content-Length`, HTTP/1.0 and 1.1 only, and `Host` required on HTTP/1.1.
public struct HTTPRequestParser: Sendable {
    /// Size caps; exceeding one produces the matching error status.
    public struct Limits: Sendable {
        /// Request line plus header fields, in bytes (431, or 414 when the request line alone is longer).
        public var maxHeaderBytes: Int = 16 * 1024
        /// Number of header fields (431).
        public var maxHeaderCount: Int = 100
        /// Decoded body size (413).
        public var maxBodyBytes: Int = 1024 * 1024
        /// Length of one chunk-size line including extensions (400).
        public var maxChunkLineBytes: Int = 1024

        public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 1024 * 1024) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    enum ChunkPhase: Sendable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailer(bytes: Int)
    }

    enum State: Sendable {
        /// Looking for the end of the head; `scanned` bytes have been checked.
        case head(scanned: Int, sawLineEnd: Bool)
        case fixedBody(HTTPRequestHead, bodyStart: Int, length: Int)
        case chunkedBody(HTTPRequestHead, position: Int, phase: ChunkPhase)
    }

    public var limits: Limits
    var state: State = .head(scanned: 0, sawLineEnd: false)
    var chunkedBody: [UInt8] = []
    var continueSignalled = false

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Forgets any partial request.
    public mutating func reset() {
        state = .head(scanned: 0, sawLineEnd: false)
        chunkedBody = []
        continueSignalled = false
    }

    /// Whether the parser has seen part of a request that it has not returned yet.
    public var isMidRequest: Bool {
        if case .head(let scanned, _) = state { return scanned > 0 }
        return true
    }

    /// Parses `buffer`, which holds the bytes of the current request from its first byte on.
    public mutating func parse(_ buffer: UnsafeBufferPointer<UInt8>) -> HTTPParseResult {
        switch state {
        case .head(let scanned, let sawLineEnd):
            return parseHeadPhase(buffer, scanned: scanned, sawLineEnd: sawLineEnd)
        case .fixedBody(let head, let bodyStart, let length):
            return fixedBody(buffer, head: head, bodyStart: bodyStart, length: length)
        case .chunkedBody(let head, let position, let phase):
            return chunked(buffer, head: head, position: position, phase: phase)
        }
    }

    /// Convenience for tests and small inputs.
    public mutating func parse(_ bytes: [UInt8]) -> HTTPParseResult {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    // MARK: Head

    private mutating func parseHeadPhase(
        _ buf: UnsafeBufferPointer<UInt8>, scanned: Int, sawLineEnd: Bool
    ) -> HTTPParseResult {
        // Leading empty lines before a request are tolerated (RFC 9112 §2.2).
        var start = 0
        while start + 1 < buf.count, buf[start] == 0x0D, buf[start + 1] == 0x0A, start < 8 { start += 2 }
        if start < buf.count, !isTokenByte(buf[start]), !(buf[start] == 0x0D && start + 1 == buf.count) {
            return fail(.badRequestLine)
        }
        var i = max(scanned, start)
        var lineEnd = sawLineEnd
        let limit = limits.maxHeaderBytes
        while i < buf.count {
            let b = buf[i]
            if b == 0x0A {
                guard i > start, buf[i - 1] == 0x0D else { return fail(.bareLineFeed) }
                lineEnd = true
                if i - start >= 3, buf[i - 2] == 0x0A {
                    let end = i + 1
                    switch parseHead(buf, start: start, end: end) {
                    case .failure(let e): return fail(e)
                    case .success(let head): return startBody(buf, head: head, bodyStart: end)
                    }
                }
            } else if i > start, buf[i - 1] == 0x0D {
                return fail(.bareLineFeed)
            }
            i += 1
            if i - start > limit { return fail(lineEnd ? .headersTooLarge : .uriTooLong) }
        }
        state = .head(scanned: i, sawLineEnd: lineEnd)
        return .needMoreData
    }

    private mutating func fail(_ e: HTTPParseError) -> HTTPParseResult {
        reset()
        return .error(e)
    }

    private func parseHead(
        _ buf: UnsafeBufferPointer<UInt8>, start: Int, end: Int
    ) -> Result<HTTPRequestHead, HTTPParseError> {
        // Request line: method SP target SP version CRLF
        var p = start
        while p < end, isTokenByte(buf[p]) { p += 1 }
        guard p > start, p < end, buf[p] == 0x20 else { return .failure(.badRequestLine) }
        let method = string(buf, start, p)
        p += 1
        let targetStart = p
        while p < end, buf[p] > 0x20, buf[p] < 0x7F { p += 1 }
        guard p > targetStart, p < end, buf[p] == 0x20 else { return .failure(.badRequestLine) }
        let target = string(buf, targetStart, p)
        p += 1
        let versionStart = p
        while p < end, buf[p] != 0x0D { p += 1 }
        let version: HTTPVersion
        switch parseVersion(buf, versionStart, p) {
        case .success(let v): version = v
        case .failure(let e): return .failure(e)
        }
        p += 2  // CRLF (validated by the scan)

        var headers = HTTPHeaders()
        var contentLength: Int? = nil
        var sawTransferEncoding = false
        var chunked = false
        var hostCount = 0
        var connectionClose = false
        var connectionKeepAlive = false
        var expectsContinue = false
        var count = 0
        while p < end {
            if buf[p] == 0x0D { break }  // the empty line ending the head
            if buf[p] == 0x20 || buf[p] == 0x09 { return .failure(.obsFold) }
            let nameStart = p
            while p < end, isTokenByte(buf[p]) { p += 1 }
            guard p > nameStart, p < end, buf[p] == UInt8(ascii: ":") else { return .failure(.badHeader) }
            let nameEnd = p
            p += 1
            while p < end, buf[p] == 0x20 || buf[p] == 0x09 { p += 1 }
            let valueStart = p
            while p < end, buf[p] != 0x0D {
                let c = buf[p]
                guard c == 0x09 || (c >= 0x20 && c != 0x7F) else { return .failure(.badHeader) }
                p += 1
            }
            var valueEnd = p
            while valueEnd > valueStart, buf[valueEnd - 1] == 0x20 || buf[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            p += 2
            count += 1
            if count > limits.maxHeaderCount { return .failure(.tooManyHeaders) }
            let name = UnsafeBufferPointer(rebasing: buf[nameStart..<nameEnd])
            let value = UnsafeBufferPointer(rebasing: buf[valueStart..<valueEnd])

            switch name.count {
            case 4 where asciiCaseInsensitiveEquals(name, "host"):
                hostCount += 1
            case 6 where asciiCaseInsensitiveEquals(name, "expect"):
                if asciiCaseInsensitiveEquals(value, "100-continue") {
                    expectsContinue = true
                } else {
                    return .failure(.expectationFailed)
                }
            case 10 where asciiCaseInsensitiveEquals(name, "connection"):
                for token in listElements(value) {
                    if asciiCaseInsensitiveEquals(token, "close") { connectionClose = true }
                    if asciiCaseInsensitiveEquals(token, "keep-alive") { connectionKeepAlive = true }
                }
            case 14 where asciiCaseInsensitiveEquals(name, "content-length"):
                let elements = listElements(value)
                guard !elements.isEmpty else { return .failure(.badContentLength) }
                for element in elements {
                    guard let n = parseDecimal(element) else { return .failure(.badContentLength) }
                    if let existing = contentLength, existing != n { return .failure(.badContentLength) }
                    contentLength = n
                }
            case 17 where asciiCaseInsensitiveEquals(name, "transfer-encoding"):
                for coding in listElements(value) {
                    if chunked { return .failure(.badTransferEncoding) }  // chunked must be last and once
                    if asciiCaseInsensitiveEquals(coding, "chunked") {
                        chunked = true
                    } else {
                        return .failure(.unsupportedTransferEncoding)
                    }
                }
                sawTransferEncoding = true
            default: break
            }
            headers.add(string(buf, nameStart, nameEnd), string(buf, valueStart, valueEnd))
        }
        if sawTransferEncoding {
            if contentLength != nil { return .failure(.conflictingLength) }
            if !chunked || version == .http1_0 { return .failure(.badTransferEncoding) }
        }
        if hostCount > 1 || (version == .http1_1 && hostCount == 0) { return .failure(.missingHost) }
        let keepAlive = version == .http1_1 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
        if version == .http1_0 { expectsContinue = false }
        return .success(
            HTTPRequestHead(
                method: method, target: target, version: version, headers: headers, keepAlive: keepAlive,
                expectsContinue: expectsContinue, contentLength: contentLength, isChunked: chunked))
    }

    private func parseVersion(
        _ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
    ) -> Result<HTTPVersion, HTTPParseError> {
        let v = UnsafeBufferPointer(rebasing: buf[start..<end])
        guard v.count == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == 0x2F,
            isDigit(v[5]), v[6] == 0x2E, isDigit(v[7])
        else { return .failure(.badRequestLine) }
        if v[5] == 0x31 && v[7] == 0x31 { return .success(.http1_1) }
        if v[5] == 0x31 && v[7] == 0x30 { return .success(.http1_0) }
        return .failure(.versionNotSupported)
    }

    // MARK: Body

    private mutating func startBody(
        _ buf: UnsafeBufferPointer<UInt8>, head: HTTPRequestHead, bodyStart: Int
    ) -> HTTPParseResult {
        if head.isChunked {
            chunkedBody = []
            return chunked(buf, head: head, position: bodyStart, phase: .size)
        }
        let length = head.contentLength ?? 0
        if length > limits.maxBodyBytes { return fail(.bodyTooLarge) }
        if length == 0 {
            reset()
            return .request(head, body: [], consumed: bodyStart)
        }
        return fixedBody(buf, head: head, bodyStart: bodyStart, length: length)
    }

    private mutating func fixedBody(
        _ buf: UnsafeBufferPointer<UInt8>, head: HTTPRequestHead, bodyStart: Int, length: Int
    ) -> HTTPParseResult {
        if buf.count >= bodyStart + length {
            let body = Array(UnsafeBufferPointer(rebasing: buf[bodyStart..<(bodyStart + length)]))
            reset()
            return .request(head, body: body, consumed: bodyStart + length)
        }
        state = .fixedBody(head, bodyStart: bodyStart, length: length)
        return continueOrWait(head: head, noBodyYet: buf.count == bodyStart)
    }

    private mutating func continueOrWait(head: HTTPRequestHead, noBodyYet: Bool) -> HTTPParseResult {
        if head.expectsContinue && noBodyYet && !continueSignalled {
            continueSignalled = true
            return .expectContinue
        }
        return .needMoreData
    }

    private mutating func chunked(
        _ buf: UnsafeBufferPointer<UInt8>, head: HTTPRequestHead, position: Int, phase: ChunkPhase
    ) -> HTTPParseResult {
        var p = position
        var phase = phase
        let headEnd = position
        while true {
            switch phase {
            case .size:
                // chunk-size [; ext] CRLF
                var q = p
                while q < buf.count, buf[q] != 0x0A {
                    q += 1
                    if q - p > limits.maxChunkLineBytes { return fail(.badChunk) }
                }
                guard q < buf.count else { return waitChunked(buf, head, p, phase, headEnd) }
                guard q > p, buf[q - 1] == 0x0D else { return fail(.badChunk) }
                var size = 0
                var digits = 0
                var r = p
                while r < q - 1, let d = hexValue(buf[r]) {
                    digits += 1
                    if digits > 8 { return fail(.bodyTooLarge) }
                    size = size << 4 | d
                    r += 1
                }
                guard digits > 0 else { return fail(.badChunk) }
                while r < q - 1, buf[r] == 0x20 || buf[r] == 0x09 { r += 1 }
                if r < q - 1 {
                    guard buf[r] == UInt8(ascii: ";") else { return fail(.badChunk) }
                    for k in r..<(q - 1) where buf[k] < 0x20 && buf[k] != 0x09 { return fail(.badChunk) }
                }
                p = q + 1
                if size == 0 {
                    phase = .trailer(bytes: 0)
                } else {
                    if chunkedBody.count + size > limits.maxBodyBytes { return fail(.bodyTooLarge) }
                    phase = .data(remaining: size)
                }
            case .data(let remaining):
                let available = min(remaining, buf.count - p)
                if available > 0 {
                    chunkedBody.append(contentsOf: UnsafeBufferPointer(rebasing: buf[p..<(p + available)]))
                    p += available
                }
                if available < remaining {
                    return waitChunked(buf, head, p, .data(remaining: remaining - available), headEnd)
                }
                phase = .dataEnd
            case .dataEnd:
                guard buf.count - p >= 2 else {
                    if buf.count - p == 1, buf[p] != 0x0D { return fail(.badChunk) }
                    return waitChunked(buf, head, p, phase, headEnd)
                }
                guard buf[p] == 0x0D, buf[p + 1] == 0x0A else { return fail(.badChunk) }
                p += 2
                phase = .size
            case .trailer(let bytes):
                // Trailer fields are skipped; an empty line ends the message.
                var q = p
                while q < buf.count, buf[q] != 0x0A {
                    q += 1
                    if bytes + (q - p) > limits.maxHeaderBytes { return fail(.headersTooLarge) }
                }
                guard q < buf.count else { return waitChunked(buf, head, p, phase, headEnd) }
                guard q > p, buf[q - 1] == 0x0D else { return fail(.bareLineFeed) }
                if q == p + 1 {
                    let body = chunkedBody
                    reset()
                    return .request(head, body: body, consumed: q + 1)
                }
                if buf[p] == 0x20 || buf[p] == 0x09 { return fail(.obsFold) }
                phase = .trailer(bytes: bytes + (q + 1 - p))
                p = q + 1
            }
        }
    }

    private mutating func waitChunked(
        _ buf: UnsafeBufferPointer<UInt8>, _ head: HTTPRequestHead, _ position: Int, _ phase: ChunkPhase,
        _ entryPosition: Int
    ) -> HTTPParseResult {
        let noBodyYet: Bool
        if case .size = phase, chunkedBody.isEmpty, position == buf.count {
            noBodyYet = true
        } else {
            noBodyYet = false
        }
        state = .chunkedBody(head, position: position, phase: phase)
        return continueOrWait(head: head, noBodyYet: noBodyYet)
    }
}

// MARK: Byte classes

/// tchar from RFC 9110 §5.6.2.
@inline(__always) func isTokenByte(_ b: UInt8) -> Bool {
    switch b {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
        UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default: return false
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

@inline(__always) func hexValue(_ b: UInt8) -> Int? {
    switch b {
    case 0x30...0x39: Int(b - 0x30)
    case 0x41...0x46: Int(b - 0x41 + 10)
    case 0x61...0x66: Int(b - 0x61 + 10)
    default: nil
    }
}

@inline(__always) func string(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
    String(decoding: UnsafeBufferPointer(rebasing: buf[start..<end]), as: UTF8.self)
}

/// The comma-separated elements of a field value, trimmed of whitespace, empty ones dropped.
func listElements(_ value: UnsafeBufferPointer<UInt8>) -> [UnsafeBufferPointer<UInt8>] {
    var out: [UnsafeBufferPointer<UInt8>] = []
    var s = 0
    var i = 0
    while i <= value.count {
        if i == value.count || value[i] == UInt8(ascii: ",") {
            var a = s
            var b = i
            while a < b, value[a] == 0x20 || value[a] == 0x09 { a += 1 }
            while b > a, value[b - 1] == 0x20 || value[b - 1] == 0x09 { b -= 1 }
            if b > a { out.append(UnsafeBufferPointer(rebasing: value[a..<b])) }
            s = i + 1
        }
        i += 1
    }
    return out
}

/// A non-negative decimal; values too large to matter saturate to `Int.max` (so they hit 413).
func parseDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    guard !bytes.isEmpty else { return nil }
    var n = 0
    for b in bytes {
        guard isDigit(b) else { return nil }
        if n > (Int.max - 9) / 10 { n = Int.max } else { n = n * 10 + Int(b - 0x30) }
    }
    return n
}
