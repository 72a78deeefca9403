import EventStore
import HTTP
import Postgres

// The storage layers know nothing of HTTP; here their errors choose their status.

extension PostgresError: HTTPResponseError {
    public var httpStatus: HTTPStatus { isUnavailable ? .serviceUnavailable : .internalServerError }
    public var httpMessage: String { isUnavailable ? "database unavailable, retry later" : "internal error" }
    public var httpHeaders: HTTPHeaders {
        var h = HTTPHeaders()
        if isUnavailable { h.add("Retry-After", "1") }
        return h
    }
}

extension AppendError: HTTPResponseError {
    public var httpStatus: HTTPStatus {
        switch self {
        case .wrongExpectedVersion, .partialDuplicate: return .conflict
        case .invalid: return .badRequest
        case .keyDestroyed: return .serviceUnavailable
        }
    }
    public var httpMessage: String { description }
}
