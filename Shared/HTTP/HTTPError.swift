/// An error that knows which HTTP response it should become. Adopt it in other modules' error
/// types (an event store maps "database unavailable" to 503). `httpMessage` is sent to the
/// client, so it must never contain secrets or user data.
public protocol HTTPResponseError: Error {
    var httpStatus: HTTPStatus { get }
    var httpMessage: String { get }
    /// Extra response headers (for example `WWW-Authenticate`, `Retry-After`).
    var httpHeaders: HTTPHeaders { get }
}

extension HTTPResponseError {
    public var httpHeaders: HTTPHeaders { HTTPHeaders() }
}

/// An error thrown by handlers to answer with `status` and the standard error body.
public struct HTTPError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, _ message: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message ?? status.reasonPhrase.lowercased()
        self.headers = headers
    }

    public var httpStatus: HTTPStatus { status }
    public var httpMessage: String { message }
    public var httpHeaders: HTTPHeaders { headers }
    public var description: String { "HTTPError(\(status.code): \(message))" }
}

extension HTTPResponse {
    /// The response for any error: an `HTTPResponseError` answers for itself; anything else is a
    /// 500 with the message "internal error" (never a stack trace or an error description).
    public static func from(error: any Error) -> HTTPResponse {
        if let e = error as? any HTTPResponseError {
            var response = HTTPResponse.error(status: e.httpStatus, message: e.httpMessage)
            for (name, value) in e.httpHeaders { response.headers.add(name, value) }
            return response
        }
        return .error(status: .internalServerError, message: "internal error")
    }
}
