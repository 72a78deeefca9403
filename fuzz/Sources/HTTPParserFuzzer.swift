import HTTP
import JSON

/// libFuzzer target: `HTTPRequestParser` fed arbitrary bytes in arbitrary chunk splits.
///
/// Input layout: byte 0 picks the parser limits, byte 1 seeds the chunk splitter, the rest is
/// the byte stream a client sends on one connection. The stream is parsed the way `IOLoop` does
/// it (the bytes of the current request from its first byte, more each call, consumed bytes
/// dropped after each request), once in the chosen chunks and once in one piece.
///
/// Invariants (a failure traps, which libFuzzer reports as a crash):
/// - `consumed` is at least 1 and never more than the bytes given;
/// - a request's body is within `maxBodyBytes` and matches its `Content-Length`; its head is
///   within `maxHeaderBytes` and `maxHeaderCount`; its method, target and fields hold only the
///   bytes the grammar allows; never both `Content-Length` and chunked; one `Host` on HTTP/1.1;
/// - the parser is reset after every request and every error;
/// - the chunked and the one-piece runs see the same requests and the same final error;
/// - building an `HTTPRequest` and decoding its body never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let limits = ParserFuzzing.limits(input[0])
    let stream = Array(input[2...])

    let split = ParserFuzzing.run(stream, limits: limits, chunkEnds: ParserFuzzing.chunkEnds(stream.count, seed: input[1]))
    let whole = ParserFuzzing.run(stream, limits: limits, chunkEnds: [stream.count])
    guard split == whole else {
        fatalError("chunked and one-piece parses differ:\n  split: \(split)\n  whole: \(whole)")
    }
    for request in whole.requests {
        ParserFuzzing.decode(request)
    }
    return 0
}

/// The fuzzing logic, namespaced away from the C entry point.
enum ParserFuzzing {
    /// What one run saw: the requests in order, then how it ended.
    struct Outcome: Equatable, CustomStringConvertible {
        var requests: [Parsed] = []
        /// The status of the error that ended the run, if one did.
        var errorStatus: Int?
        /// Whether the parser held part of an unfinished request at the end.
        var midRequest = false

        var description: String {
            "\(requests.count) requests \(requests.map(\.summary)) error \(errorStatus.map(String.init) ?? "none") mid \(midRequest)"
        }
    }

    /// A request in comparable form.
    struct Parsed: Equatable {
        var method: String
        var target: String
        var version: String
        var fields: [String]
        var keepAlive: Bool
        var expectsContinue: Bool
        var contentLength: Int?
        var isChunked: Bool
        var body: [UInt8]
        var consumed: Int
        var head: HTTPRequestHead

        static func == (a: Parsed, b: Parsed) -> Bool {
            a.method == b.method && a.target == b.target && a.version == b.version && a.fields == b.fields
                && a.keepAlive == b.keepAlive && a.expectsContinue == b.expectsContinue
                && a.contentLength == b.contentLength && a.isChunked == b.isChunked && a.body == b.body
                && a.consumed == b.consumed
        }

        var summary: String { "\(method) \(target) \(version) body \(body.count) consumed \(consumed)" }
    }

    static func limits(_ selector: UInt8) -> HTTPRequestParser.Limits {
        let headerBytes = [16 * 1024, 256, 64, 1024][Int(selector & 3)]
        let headerCount = [100, 3, 1, 20][Int((selector >> 2) & 3)]
        let bodyBytes = [1024 * 1024, 16, 0, 300][Int((selector >> 4) & 3)]
        var limits = HTTPRequestParser.Limits(
            maxHeaderBytes: headerBytes, maxHeaderCount: headerCount, maxBodyBytes: bodyBytes)
        limits.maxChunkLineBytes = (selector >> 6) & 1 == 0 ? 1024 : 8
        return limits
    }

    /// Increasing end offsets of the chunks the stream arrives in; the last is `count`.
    static func chunkEnds(_ count: Int, seed: UInt8) -> [Int] {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 {
            // xorshift64*
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        let maxChunk = [1, 2, 7, 64][Int(seed & 3)]
        var ends: [Int] = []
        var at = 0
        while at < count {
            at = min(count, at + 1 + Int(next() % UInt64(maxChunk)))
            ends.append(at)
        }
        return ends
    }

    /// Parses `stream` arriving in the given chunks, as the server's read loop does.
    static func run(_ stream: [UInt8], limits: HTTPRequestParser.Limits, chunkEnds: [Int]) -> Outcome {
        var parser = HTTPRequestParser(limits: limits)
        var outcome = Outcome()
        var start = 0
        stream.withUnsafeBufferPointer { all in
            for available in chunkEnds {
                feeding: while start < available {
                    let given = available - start
                    switch parser.parse(UnsafeBufferPointer(rebasing: all[start..<available])) {
                    case .needMoreData, .expectContinue:
                        break feeding
                    case .error(let error):
                        check(!parser.isMidRequest, "parser not reset after an error")
                        check([400, 413, 414, 417, 431, 501, 505].contains(error.status.code), "odd status \(error.status.code)")
                        outcome.errorStatus = error.status.code
                        return
                    case .request(let head, let body, let consumed):
                        check(consumed >= 1 && consumed <= given, "consumed \(consumed) of \(given)")
                        check(!parser.isMidRequest, "parser not reset after a request")
                        checkRequest(head, body: body, consumed: consumed, limits: limits)
                        outcome.requests.append(
                            Parsed(
                                method: head.method, target: head.target, version: head.version.description,
                                fields: head.headers.map { "\($0.name): \($0.value)" }, keepAlive: head.keepAlive,
                                expectsContinue: head.expectsContinue, contentLength: head.contentLength,
                                isChunked: head.isChunked, body: body, consumed: consumed, head: head))
                        start += consumed
                    }
                }
            }
        }
        outcome.midRequest = parser.isMidRequest
        return outcome
    }

    static func checkRequest(_ head: HTTPRequestHead, body: [UInt8], consumed: Int, limits: HTTPRequestParser.Limits) {
        check(body.count <= limits.maxBodyBytes, "body \(body.count) over limit \(limits.maxBodyBytes)")
        check(head.headers.count <= limits.maxHeaderCount, "\(head.headers.count) headers over limit")
        if head.isChunked {
            check(head.contentLength == nil, "chunked with Content-Length")
            check(head.version == .http1_1, "chunked on HTTP/1.0")
        } else {
            check(body.count == (head.contentLength ?? 0), "body length differs from Content-Length")
            // The head, after at most 8 bytes of tolerated leading empty lines, is within the limit.
            check(consumed - body.count <= limits.maxHeaderBytes + 8, "head of \(consumed - body.count) bytes")
        }
        check(!head.method.isEmpty && head.method.utf8.allSatisfy(isToken), "method not a token")
        check(!head.target.isEmpty && head.target.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "bad target byte")
        var hosts = 0
        for field in head.headers {
            check(!field.name.isEmpty && field.name.utf8.allSatisfy(isToken), "field name not a token")
            check(field.value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }, "bad field value byte")
            check(field.value.utf8.first != 0x20 && field.value.utf8.last != 0x20, "untrimmed field value")
            if field.name.lowercased() == "host" { hosts += 1 }
        }
        check(hosts <= 1, "\(hosts) Host fields")
        if head.version == .http1_1 { check(hosts == 1, "HTTP/1.1 without Host") }
    }

    /// Builds the request handlers would see and decodes its body by every route.
    static func decode(_ parsed: Parsed) {
        guard let request = try? HTTPRequest(head: parsed.head, body: parsed.body) else { return }
        _ = request.pathSegments
        _ = request.mediaType
        if let value = try? request.decodeBody() {
            check((try? JSON.parse(value.bytes)) == value, "decoded body does not round-trip")
        }
        _ = try? request.decodeJSONBody()
        _ = try? request.decodeFormBody()
    }

    static func isToken(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("invariant: \(message())") }
    }
}
