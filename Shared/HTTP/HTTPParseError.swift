/// Why the parser refused a request: the status to answer with and a fixed, content-free message.
/// After a parse error the connection cannot be resynchronised and must be closed.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let message: String

    public init(status: HTTPStatus, message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(message)" }

    static let badRequestLine = HTTPParseError(status: .badRequest, message: "malformed request line")
    static let badHeader = HTTPParseError(status: .badRequest, message: "malformed header field")
    static let bareLineFeed = HTTPParseError(status: .badRequest, message: "line must end with CRLF")
    static let obsFold = HTTPParseError(status: .badRequest, message: "obsolete line folding is not allowed")
    static let headersTooLarge = HTTPParseError(status: .headerFieldsTooLarge, message: "request header fields too large")
    static let tooManyHeaders = HTTPParseError(status: .headerFieldsTooLarge, message: "too many header fields")
    static let uriTooLong = HTTPParseError(status: .uriTooLong, message: "request target too long")
    static let versionNotSupported = HTTPParseError(status: .versionNotSupported, message: "HTTP version not supported")
    static let badContentLength = HTTPParseError(status: .badRequest, message: "invalid Content-Length")
    static let conflictingLength = HTTPParseError(
        status: .badRequest, message: "both Content-Length and Transfer-Encoding present")
    static let unsupportedTransferEncoding = HTTPParseError(
        status: .notImplemented, message: "unsupported Transfer-Encoding")
    static let badTransferEncoding = HTTPParseError(status: .badRequest, message: "invalid Transfer-Encoding")
    static let bodyTooLarge = HTTPParseError(status: .contentTooLarge, message: "request body too large")
    static let badChunk = HTTPParseError(status: .badRequest, message: "malformed chunked body")
    static let missingHost = HTTPParseError(status: .badRequest, message: "exactly one Host header is required")
    static let expectationFailed = HTTPParseError(status: .expectationFailed, message: "unsupported expectation")
}
