import CLibPQ
import Foundation

/// One libpq connection, used by one thread at a time (the pool's worker threads or a dedicated
/// thread such as the event store's committer). Statements travel with text-format parameters
/// (binary for `PostgresBinaryEncodable` ones, such as `PostgresBinaryArray`), so every value is
/// a parameter and never spliced into SQL.
///
/// Data statements (`SELECT`, `WITH`, `INSERT`, `UPDATE`, `DELETE`, or any statement with
/// parameters) are prepared on first use and then executed by name (`PQexecPrepared`): parsing
/// and planning happen once per connection instead of once per call. At most
/// ``maximumPreparedStatements`` are kept; further distinct texts run unprepared.
public final class PostgresConnection {
    private var handle: OpaquePointer?
    /// SQL text → server-side statement name, valid for the current session only.
    private var preparedStatements: [String: String] = [:]
    /// The most statements prepared on one session. Default 256.
    public static let maximumPreparedStatements = 256
    public let url: String
    /// Statements run right after each (re)connect, e.g. `SET idle_in_transaction_session_timeout`.
    let setupStatements: [String]

    /// Connects to `url` (a libpq URI or key/value string).
    public init(url: String, setupStatements: [String] = []) throws(PostgresError) {
        self.url = url
        self.setupStatements = setupStatements
        try connect()
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Whether the connection is believed usable.
    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Whether the connection can take a statement now: believed connected and, for an idle
    /// connection that listens to nothing (the pool's), not being closed by the server. A backend
    /// that ends while its connection sits idle (a restart, a failover, `pg_terminate_backend`, an
    /// idle timeout) sends its FATAL message and closes; libpq only notices at the next statement,
    /// which then fails. Such a connection gets no other unasked bytes (notices and parameter
    /// reports come with a statement's own results), so any readable byte means the session is
    /// ending: one `poll`, no round trip, and the caller reconnects first. Only for a connection
    /// with no statement in flight and no LISTEN.
    public var isUsable: Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// The server's backend process id (useful in tests).
    public var backendPID: Int32 { handle.map { PQbackendPID($0) } ?? 0 }

    /// The socket descriptor, for waiting on notifications.
    var socket: Int32 { handle.map { PQsocket($0) } ?? -1 }

    /// (Re)opens the connection.
    public func connect() throws(PostgresError) {
        if let handle { PQfinish(handle) }
        handle = nil
        preparedStatements.removeAll()
        guard let h = PQconnectdb(url) else { throw PostgresError(code: .unavailable) }
        guard PQstatus(h) == CONNECTION_OK else {
            PQfinish(h)
            throw PostgresError(code: .unavailable)
        }
        handle = h
        // Server notices (for example "already exists, skipping") are not errors: drop them.
        PQsetNoticeProcessor(h, { _, _ in }, nil)
        for s in setupStatements { try execute(s) }
    }

    /// Reconnects when the connection is broken; a no-op when it is fine.
    public func ensureConnected() throws(PostgresError) {
        if !isConnected { try connect() }
    }

    /// Closes the connection.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        preparedStatements.removeAll()
    }

    /// Runs one statement with `$1...` parameters and returns its rows.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(PostgresError) -> PostgresRows {
        guard let handle else { throw PostgresError(code: .unavailable) }
        // Each parameter as a malloc'd buffer (text NUL-terminated; binary with its length).
        var values: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        values.reserveCapacity(parameters.count)
        defer { for p in values { free(p) } }
        var anyBinary = false
        for p in parameters {
            if let b = p as? any PostgresBinaryEncodable {
                let bytes = try b.postgresBinary()
                let buffer = malloc(max(1, bytes.count))!.assumingMemoryBound(to: CChar.self)
                bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                values.append(buffer)
                lengths.append(Int32(bytes.count))
                formats.append(1)
                anyBinary = true
                continue
            }
            guard var t = p.postgresText else {
                values.append(nil)
                lengths.append(0)
                formats.append(0)
                continue
            }
            if t.withUTF8({ b in b.baseAddress.map { memchr($0, 0, b.count) != nil } ?? false }) { throw PostgresError(code: .invalidParameter) }
            values.append(strdup(t)!)
            lengths.append(0)
            formats.append(0)
        }
        let statementName = try preparedName(for: sql, parameterCount: values.count, handle: handle)
        let result: OpaquePointer? = values.withUnsafeBufferPointer { v in
            v.withMemoryRebound(to: UnsafePointer<CChar>?.self) { pointers in
                lengths.withUnsafeBufferPointer { l in
                    formats.withUnsafeBufferPointer { f in
                        let lp = anyBinary ? l.baseAddress : nil
                        let fp = anyBinary ? f.baseAddress : nil
                        if let statementName {
                            return PQexecPrepared(handle, statementName, Int32(pointers.count), pointers.baseAddress, lp, fp, 0)
                        }
                        return PQexecParams(handle, sql, Int32(pointers.count), nil, pointers.baseAddress, lp, fp, 0)
                    }
                }
            }
        }
        do {
            return try rows(from: result, handle: handle)
        } catch {
            // A schema change can invalidate a prepared plan ("cached plan must not change result
            // type", 0A000) or the session can lose it (26000): prepare it afresh next time.
            if statementName != nil, error.sqlState == "0A000" || error.sqlState == "26000" {
                preparedStatements[sql] = nil
            }
            throw error
        }
    }

    /// The name of `sql` prepared on this session, preparing it now if it is a data statement;
    /// nil for statements that run unprepared (transaction control, `SET`, `LISTEN`, overflow).
    private func preparedName(for sql: String, parameterCount: Int, handle: OpaquePointer) throws(PostgresError) -> String? {
        if let name = preparedStatements[sql] { return name }
        guard parameterCount > 0 || Self.isDataStatement(sql),
            preparedStatements.count < Self.maximumPreparedStatements
        else { return nil }
        let name = "s\(preparedStatements.count)"
        let result = PQprepare(handle, name, sql, Int32(parameterCount), nil)
        _ = try rows(from: result, handle: handle)
        preparedStatements[sql] = name
        return name
    }

    /// Whether `sql` reads or writes rows (and so is worth preparing).
    static func isDataStatement(_ sql: String) -> Bool {
        let head = sql.utf8.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }).prefix(6)
        let word = String(decoding: head, as: UTF8.self).uppercased()
        return word.hasPrefix("SELECT") || word.hasPrefix("WITH") || word.hasPrefix("INSERT")
            || word.hasPrefix("UPDATE") || word.hasPrefix("DELETE")
    }

    /// Turns a libpq result into rows, or into the error it reports.
    private func rows(from result: OpaquePointer?, handle: OpaquePointer) throws(PostgresError) -> PostgresRows {
        guard let result else {
            throw PostgresError(code: PQstatus(handle) == CONNECTION_OK ? .serverError : .unavailable)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result: result)
        default:
            if PQstatus(handle) != CONNECTION_OK { throw PostgresError(code: .unavailable) }
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            // Class 08 (connection exception), 57P01..57P03 (admin shutdown, cannot connect now).
            if let state, state.hasPrefix("08") || state.hasPrefix("57P") {
                throw PostgresError(code: .unavailable, sqlState: state, serverMessage: message)
            }
            throw PostgresError(code: .serverError, sqlState: state, serverMessage: message)
        }
    }

    /// Runs a script of one or more statements without parameters (migrations only: nothing in
    /// `sql` may come from a request).
    public func executeScript(_ sql: String) throws(PostgresError) {
        guard let handle else { throw PostgresError(code: .unavailable) }
        guard let result = PQexec(handle, sql) else { throw PostgresError(code: .unavailable) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            if PQstatus(handle) != CONNECTION_OK { throw PostgresError(code: .unavailable) }
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            throw PostgresError(code: .serverError, sqlState: state, serverMessage: message)
        }
    }

    /// Whether a transaction is open on the connection (BEGIN without COMMIT or ROLLBACK yet).
    public var isInTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Runs `body` inside BEGIN/COMMIT; rolls back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isConnected { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Consumes input and returns pending notifications (channel, payload).
    func drainNotifications() throws(PostgresError) -> [(channel: String, payload: String)] {
        guard let handle else { throw PostgresError(code: .unavailable) }
        guard PQconsumeInput(handle) == 1 else { throw PostgresError(code: .unavailable) }
        var out: [(String, String)] = []
        while let n = PQnotifies(handle) {
            out.append((String(cString: n.pointee.relname), String(cString: n.pointee.extra)))
            PQfreemem(n)
        }
        return out
    }
}
