/// The HTTP versions the server speaks.
public enum HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    case http1_0
    case http1_1

    public var description: String {
        switch self {
        case .http1_0: "HTTP/1.0"
        case .http1_1: "HTTP/1.1"
        }
    }
}

/// The request line and header fields of a request, validated by `HTTPRequestParser`.
public struct HTTPRequestHead: Sendable {
    /// The method token, exactly as sent (methods are case-sensitive).
    public var method: String
    /// The request target, exactly as sent (origin form: path and optional query).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// Whether the connection stays open after this request (version default and `Connection`).
    public var keepAlive: Bool
    /// Whether the client sent `Expect: 100-continue`.
    public var expectsContinue: Bool
    /// The declared `Content-Length`, if any.
    public var contentLength: Int?
    /// Whether the body uses chunked transfer coding.
    public var isChunked: Bool

    public init(
        method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:],
        keepAlive: Bool = true, expectsContinue: Bool = false, contentLength: Int? = nil, isChunked: Bool = false
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        self.contentLength = contentLength
        self.isChunked = isChunked
    }
}
