/// A complete request as handlers see it.
public struct HTTPRequest: Sendable {
    public let head: HTTPRequestHead
    /// The body bytes (de-chunked).
    public let body: [UInt8]
    /// The raw path (before `?`), still percent-encoded.
    public let path: String
    /// The path split on `/` and then percent-decoded segment by segment, so `%2F` stays inside
    /// its segment as `/` and a raw `+` stays `+`. Empty segments are dropped.
    public let pathSegments: [String]
    /// The parsed query string (`+` means space).
    public let query: HTTPQuery
    /// The request id: a valid `X-Request-Id` sent by the client, or a generated one.
    public let requestID: String

    public var method: String { head.method }
    /// The request target exactly as sent.
    public var target: String { head.target }
    public var version: HTTPVersion { head.version }
    public var headers: HTTPHeaders { head.headers }
    public var keepAlive: Bool { head.keepAlive }

    /// Builds a request; throws 400 when the path or query has invalid percent-encoding.
    public init(head: HTTPRequestHead, body: [UInt8] = [], requestID: String = "") throws(HTTPError) {
        self.head = head
        self.body = body
        self.requestID = requestID
        let target = head.target
        let utf8 = target.utf8
        if let q = utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<q])
            let rawQuery = target[target.index(after: q)...]
            query = try HTTPQuery(parsing: rawQuery.utf8)
        } else {
            path = target
            query = HTTPQuery()
        }
        pathSegments = try HTTPRequest.decodeSegments(path)
    }

    /// Convenience for tests: a request with the given method and target.
    public init(
        method: String, target: String, headers: HTTPHeaders = ["Host": "localhost"], body: [UInt8] = [],
        requestID: String = ""
    ) throws(HTTPError) {
        try self.init(
            head: HTTPRequestHead(method: method, target: target, headers: headers, contentLength: body.count),
            body: body, requestID: requestID)
    }

    /// Splits `path` on `/` and percent-decodes each segment; throws 400 on bad encoding.
    public static func decodeSegments(_ path: String) throws(HTTPError) -> [String] {
        var segments: [String] = []
        for raw in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            guard let s = PercentDecoding.decode(raw, plusAsSpace: false) else {
                throw HTTPError(.badRequest, "invalid percent-encoding in path")
            }
            segments.append(s)
        }
        return segments
    }
}
