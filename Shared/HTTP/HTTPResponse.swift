import JSON

/// A response: status, header fields and body. `Content-Length`, `Date` and `Connection` are
/// added by the serializer; do not set them yourself.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response (`Content-Type: application/json`).
    public static func json(_ value: JSON, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: value.bytes)
    }

    /// A JSON response whose body the caller has already written (`Content-Type: application/json`).
    public static func json(bytes: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: bytes)
    }

    /// The standard error shape: `{"success":false,"status":"error","error":"<message>"}`.
    public static func error(status: HTTPStatus, message: String) -> HTTPResponse {
        let value: JSON = ["success": false, "status": "error", "error": .string(message)]
        return .json(value, status: status)
    }

    /// A plain-text response (used by `/metrics`).
    public static func text(_ text: String, status: HTTPStatus = .ok, contentType: String = "text/plain; charset=utf-8")
        -> HTTPResponse
    {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }
}
