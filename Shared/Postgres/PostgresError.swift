/// An error from the PostgreSQL layer. Its `description` names what failed and the SQLSTATE,
/// never parameter values or row data.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let raw: String
        /// The database could not be reached or the connection broke: retry later (HTTP 503).
        public static let unavailable = Code(raw: "unavailable")
        /// The server refused the statement (syntax, constraint, ...). See `sqlState`.
        public static let serverError = Code(raw: "server error")
        /// The pool's queue is full or a checkout waited too long.
        public static let poolExhausted = Code(raw: "pool exhausted")
        /// The pool or connection was shut down.
        public static let shutDown = Code(raw: "shut down")
        /// A parameter cannot be represented (for example text containing a NUL byte).
        public static let invalidParameter = Code(raw: "invalid parameter")
        public var description: String { raw }
    }

    public let code: Code
    /// The five-character SQLSTATE for server errors (for example `23505` for a unique violation).
    public let sqlState: String?
    /// The server's primary message (never its DETAIL, which can carry row values).
    let serverMessage: String?

    public init(code: Code, sqlState: String? = nil, serverMessage: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.serverMessage = serverMessage
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// Whether retrying on a fresh connection may succeed.
    public var isUnavailable: Bool { code == .unavailable || code == .poolExhausted || code == .shutDown }

    public var description: String {
        var s = "postgres: \(code)"
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        if let serverMessage, code == .serverError { s += ": \(serverMessage)" }
        return s
    }
}
