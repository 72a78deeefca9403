import Testing

@testable import HTTP

/// Parses `text` in one go.
func parse(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> HTTPParseResult {
    var parser = HTTPRequestParser(limits: limits)
    return parser.parse(Array(text.utf8))
}

func errorStatus(_ result: HTTPParseResult) -> Int? {
    if case .error(let e) = result { return e.status.code }
    return nil
}

@Suite struct HTTPRequestParserTests {
    @Test func simpleGet() throws {
        let text = "GET /a/b?x=1 HTTP/1.1\r\nHost: example\r\nX-Thing:  v  \r\n\r\n"
        guard case .request(let head, let body, let consumed) = parse(text) else {
            Issue.record("expected request")
            return
        }
        #expect(head.method == "GET")
        #expect(head.target == "/a/b?x=1")
        #expect(head.version == .http1_1)
        #expect(head.headers["x-thing"] == "v")
        #expect(head.headers["HOST"] == "example")
        #expect(head.keepAlive)
        #expect(body.isEmpty)
        #expect(consumed == text.utf8.count)
    }

    @Test func incrementalByteByByte() {
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        var parser = HTTPRequestParser()
        let bytes = Array(text.utf8)
        for i in 1..<bytes.count {
            guard case .needMoreData = parser.parse(Array(bytes[0..<i])) else {
                Issue.record("early result at \(i)")
                return
            }
        }
        guard case .request(_, let body, let consumed) = parser.parse(bytes) else {
            Issue.record("expected request")
            return
        }
        #expect(body == Array("hello".utf8))
        #expect(consumed == bytes.count)
    }

    @Test func pipelinedRequestsConsumeOnlyTheirBytes() {
        let one = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
        let two = "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
        var parser = HTTPRequestParser()
        let bytes = Array((one + two).utf8)
        guard case .request(let h1, _, let c1) = parser.parse(bytes) else {
            Issue.record("expected first")
            return
        }
        #expect(h1.target == "/1")
        guard case .request(let h2, _, let c2) = parser.parse(Array(bytes[c1...])) else {
            Issue.record("expected second")
            return
        }
        #expect(h2.target == "/2")
        #expect(c1 + c2 == bytes.count)
    }

    @Test func http10ClosesUnlessKeepAlive() {
        guard case .request(let a, _, _) = parse("GET / HTTP/1.0\r\n\r\n"),
            case .request(let b, _, _) = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
            case .request(let c, _, _) = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        else {
            Issue.record("expected requests")
            return
        }
        #expect(!a.keepAlive)
        #expect(b.keepAlive)
        #expect(!c.keepAlive)
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() {
        let text =
            "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        guard case .request(let head, let body, let consumed) = parse(text) else {
            Issue.record("expected request")
            return
        }
        #expect(head.isChunked)
        #expect(String(decoding: body, as: UTF8.self) == "hello world")
        #expect(consumed == text.utf8.count)
    }

    @Test func chunkedIncremental() {
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"
        let bytes = Array(text.utf8)
        var parser = HTTPRequestParser()
        var result: HTTPParseResult = .needMoreData
        for i in 1...bytes.count {
            result = parser.parse(Array(bytes[0..<i]))
            if i < bytes.count, case .request = result { Issue.record("early at \(i)") }
            if case .error = result { Issue.record("error at \(i)") }
        }
        guard case .request(_, let body, _) = result else {
            Issue.record("expected request")
            return
        }
        #expect(String(decoding: body, as: UTF8.self) == "0123456789")
    }

    @Test(arguments: [
        "zz\r\n", "\r\n", "5 x\r\nhello\r\n", "-1\r\n", "5\nhello",
    ])
    func badChunkSize(_ chunk: String) {
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "0\r\n\r\n"
        #expect(errorStatus(parse(text)) == 400)
    }

    @Test func chunkDataMustEndWithCRLF() {
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"
        #expect(errorStatus(parse(text)) == 400)
    }

    @Test func overlongChunkLine() {
        let text =
            "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "a", count: 2000)
        #expect(errorStatus(parse(text)) == 400)
    }

    @Test func chunkedBodyTooLarge() {
        var limits = HTTPRequestParser.Limits()
        limits.maxBodyBytes = 8
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"
        #expect(errorStatus(parse(text, limits: limits)) == 413)
        let huge = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n"
        #expect(errorStatus(parse(huge)) == 413)
    }

    @Test func contentLengthAndTransferEncoding() {
        let text = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(errorStatus(parse(text)) == 400)
    }

    @Test func duplicateContentLengths() {
        #expect(errorStatus(parse("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")) == 400)
        #expect(errorStatus(parse("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n")) == 400)
        // Identical repeats are the same length (RFC 9110 §8.6).
        let same = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
        guard case .request(_, let body, _) = parse(same) else {
            Issue.record("expected request")
            return
        }
        #expect(body.count == 5)
    }

    @Test(arguments: ["abc", "-1", "+5", "5a", "", "0x5", "1 2"])
    func nonDigitContentLength(_ value: String) {
        #expect(errorStatus(parse("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: \(value)\r\n\r\n")) == 400)
    }

    @Test func obsFold() {
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n")) == 400)
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tcontinued\r\n\r\n")) == 400)
    }

    @Test func bareLineFeedsAndStrayCR() {
        #expect(errorStatus(parse("GET / HTTP/1.1\nHost: h\n\n")) == 400)
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: h\n\r\n")) == 400)
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n")) == 400)
    }

    @Test(arguments: ["Bad Name: x", "Bad(Name): x", "X-A : x", ": x", "NoColon", "X-\u{7F}: x"])
    func invalidHeaderNames(_ line: String) {
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: h\r\n\(line)\r\n\r\n")) == 400)
    }

    @Test func controlCharacterInValue() {
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{0}b\r\n\r\n")) == 400)
    }

    @Test(arguments: [
        "G(T / HTTP/1.1", "GET  / HTTP/1.1", "GET /\u{7F} HTTP/1.1", "GET / HTTP/1.1 ", "GET /", "GET / http/1.1",
        "\u{16}\u{3}\u{1}",
    ])
    func malformedRequestLines(_ line: String) {
        #expect(errorStatus(parse("\(line)\r\nHost: h\r\n\r\n")) == 400)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"])
    func unsupportedVersions(_ version: String) {
        #expect(errorStatus(parse("GET / \(version)\r\nHost: h\r\n\r\n")) == 505)
    }

    @Test func unknownTransferEncoding() {
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")) == 501)
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n")) == 501)
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n")) == 400)
    }

    @Test func missingOrDuplicateHost() {
        #expect(errorStatus(parse("GET / HTTP/1.1\r\n\r\n")) == 400)
        #expect(errorStatus(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")) == 400)
    }

    @Test func oversizedHeadersAre431() {
        var limits = HTTPRequestParser.Limits()
        limits.maxHeaderBytes = 256
        let text = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "a", count: 300) + "\r\n\r\n"
        #expect(errorStatus(parse(text, limits: limits)) == 431)
        // Even before the end of the head arrives.
        let partial = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "a", count: 300)
        #expect(errorStatus(parse(partial, limits: limits)) == 431)
    }

    @Test func overlongTargetIs414() {
        var limits = HTTPRequestParser.Limits()
        limits.maxHeaderBytes = 256
        #expect(errorStatus(parse("GET /" + String(repeating: "a", count: 300), limits: limits)) == 414)
    }

    @Test func tooManyHeaders() {
        var text = "GET / HTTP/1.1\r\nHost: h\r\n"
        for i in 0..<100 { text += "X-\(i): v\r\n" }
        #expect(errorStatus(parse(text + "\r\n")) == 431)
    }

    @Test func oversizedBodyIs413() {
        var limits = HTTPRequestParser.Limits()
        limits.maxBodyBytes = 10
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: limits)) == 413)
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n")) == 413)
    }

    @Test func expectContinueSignalledOnceBeforeBody() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        var parser = HTTPRequestParser()
        guard case .expectContinue = parser.parse(Array(head.utf8)) else {
            Issue.record("expected continue")
            return
        }
        guard case .needMoreData = parser.parse(Array(head.utf8)) else {
            Issue.record("expected needMoreData")
            return
        }
        guard case .request(_, let body, _) = parser.parse(Array((head + "abc").utf8)) else {
            Issue.record("expected request")
            return
        }
        #expect(body == Array("abc".utf8))
        // Body already there: no continue needed.
        guard case .request = parse(head + "abc") else {
            Issue.record("expected request")
            return
        }
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n")) == 417)
    }

    @Test func leadingEmptyLineIsTolerated() {
        guard case .request(let head, _, _) = parse("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") else {
            Issue.record("expected request")
            return
        }
        #expect(head.target == "/")
    }
}
