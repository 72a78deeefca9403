import Foundation
import ThreadSupport

/// A bounded pool of connections, each owned by its own worker thread. libpq calls block, so
/// they run on these threads and never on Swift's cooperative pool; callers `await` the result.
///
/// Before each job the worker checks its connection (`PostgresConnection.isUsable`: one `poll`)
/// and re-opens it when the server has ended the session while it sat idle (a restart, a
/// failover, a terminated backend), so that job does not fail on a dead socket; a connection that
/// breaks during a job fails that job and is re-opened for the next. While the database is down
/// every job fails fast with `PostgresError.Code.unavailable`.
public final class PostgresPool: @unchecked Sendable {
    // @unchecked Sendable: all mutable state (`queue`, `head`, counters, `isShutDown`) is only
    // touched while holding `condition`; connections never leave their worker thread.

    /// How the pool connects and how large it grows.
    public struct Configuration: Sendable {
        /// libpq connection URI.
        public var url: String
        /// Number of connections and worker threads. Default 8.
        public var size: Int = 8
        /// Jobs that may wait for a free connection before new ones fail with `poolExhausted`.
        /// Default 10,000.
        public var maximumQueueLength: Int = 10_000
        /// Statements run after every (re)connect. Default: a 30 s idle-in-transaction timeout,
        /// so a stuck writer cannot hold back event readers forever.
        public var setupStatements: [String] = ["SET idle_in_transaction_session_timeout = '30s'"]

        public init(url: String, size: Int = 8) {
            self.url = url
            self.size = size
        }
    }

    typealias Job = (Result<PostgresConnection, PostgresError>) -> Void

    public let configuration: Configuration
    private let condition = NSCondition()
    private var queue: [Job?] = []
    private var head = 0
    private var busy = 0
    private var isShutDown = false
    private var threads: [Thread] = []
    private var finished = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
        for i in 0..<max(1, configuration.size) {
            let t = Thread { [unowned self] in
                nameCurrentThread("pg-pool-\(i)")
                self.workerLoop()
            }
            t.name = "postgres-pool-\(i)"
            t.stackSize = 1 << 20
            threads.append(t)
        }
        for t in threads { t.start() }
    }

    /// Connections currently running a job.
    public var inUse: Int {
        condition.lock()
        defer { condition.unlock() }
        return busy
    }

    /// Jobs waiting for a connection.
    public var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count - head
    }

    /// Runs `body` with a pooled connection on a worker thread.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = enqueue { result in
                switch result {
                case .failure(let error): continuation.resume(throwing: error)
                case .success(let connection):
                    do { continuation.resume(returning: try body(connection)) } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
            if let refusal = accepted { continuation.resume(throwing: refusal) }
        }
    }

    /// Runs `body` inside a transaction on a pooled connection.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { connection in try connection.transaction { try body(connection) } }
    }

    /// Runs one statement on a pooled connection.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresRows {
        try await withConnection { try $0.execute(sql, parameters) }
    }

    /// Stops the workers after the queued jobs have run, and closes the connections.
    public func shutdown() {
        condition.lock()
        isShutDown = true
        condition.broadcast()
        while finished < threads.count { condition.wait() }
        condition.unlock()
    }

    /// Queues a job; returns an error instead when it cannot be queued.
    private func enqueue(_ job: @escaping Job) -> PostgresError? {
        condition.lock()
        defer { condition.unlock() }
        if isShutDown { return PostgresError(code: .shutDown) }
        if queue.count - head >= configuration.maximumQueueLength { return PostgresError(code: .poolExhausted) }
        queue.append(job)
        condition.signal()
        return nil
    }

    private func nextJob() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count && !isShutDown { condition.wait() }
        if head == queue.count { return nil }
        let job = queue[head]
        queue[head] = nil
        head += 1
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        busy += 1
        return job
    }

    private func workerLoop() {
        var connection: PostgresConnection?
        while let job = nextJob() {
            if connection == nil || connection?.isUsable == false {
                connection = nil
                do {
                    connection = try PostgresConnection(
                        url: configuration.url, setupStatements: configuration.setupStatements)
                } catch {
                    job(.failure(error))
                }
            }
            if let connection { job(.success(connection)) }
            condition.lock()
            busy -= 1
            condition.unlock()
        }
        connection?.close()
        condition.lock()
        finished += 1
        condition.broadcast()
        condition.unlock()
    }
}
