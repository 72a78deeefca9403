import Foundation
import Postgres

/// The shared event table as one service sees it: a connection pool for reads, the group-commit
/// appender for writes, and a notifier woken by NOTIFY, local commits and a poll timer.
public final class EventStore: Sendable {
    public struct Configuration: Sendable {
        public var url: String
        /// Pooled connections for reads and read-model queries. Default 8.
        public var poolSize: Int = 8
        /// Group-commit committers. Default 2 (see `EventAppender.Configuration.committers`).
        public var committers: Int = 2
        /// Called after each committed batch with its event count (metrics).
        public var onCommit: (@Sendable (Int) -> Void)?

        public init(url: String) { self.url = url }
    }

    public let configuration: Configuration
    public let pool: PostgresPool
    public let appender: EventAppender
    public let notifier: EventNotifier
    let listener: PostgresListener
    /// What this process's projection runners have read, shared between them.
    let reads = SharedEventReads()

    /// Opens the store: starts the pool, the committers and the NOTIFY listener. Call `migrate`
    /// before use.
    public init(configuration: Configuration) {
        self.configuration = configuration
        pool = PostgresPool(configuration: .init(url: configuration.url, size: configuration.poolSize))
        let notifier = EventNotifier()
        self.notifier = notifier
        var ac = EventAppender.Configuration(url: configuration.url)
        ac.committers = configuration.committers
        let onCommit = configuration.onCommit
        appender = EventAppender(configuration: ac) { n, types in
            notifier.signal(types: types)
            onCommit?(n)
        }
        // Our own commits have woken the readers already (above); others' (and a reconnect's
        // empty payload) wake them here.
        let origin = appender.notificationOrigin
        listener = PostgresListener(url: configuration.url, channels: [ac.notifyChannel]) { _, payload in
            let notification = EventNotification.parse(payload)
            if notification.origin != origin { notifier.signal(types: notification.types) }
        }
        listener.start()
    }

    /// Applies the event store's migrations and `extra` ones (a service's read tables).
    public func migrate(component: String? = nil, extra: [Migration] = []) async throws {
        try await pool.withConnection { c in
            try Migrator.migrate(c, component: EventStoreSchema.component, migrations: EventStoreSchema.migrations)
            if let component { try Migrator.migrate(c, component: component, migrations: extra) }
        }
    }

    /// Appends atomically (see `EventAppender`).
    @discardableResult
    public func append(_ unit: [StreamAppend]) async throws -> AppendResult { try await appender.append(unit) }

    /// Appends to one stream.
    @discardableResult
    public func append(_ one: StreamAppend) async throws -> AppendResult { try await appender.append([one]) }

    /// Appends each unit atomically on its own, queued together (see `EventAppender.appendEach`).
    public func appendEach(_ units: [[StreamAppend]]) async -> [Result<AppendResult, any Error>] {
        await appender.appendEach(units)
    }

    /// Appends atomically and calls `completion` once with the outcome, on the committer's thread
    /// after the durable commit (keep it quick): for callers that answer without a Task.
    public func append(_ unit: [StreamAppend], completion: @escaping @Sendable (Result<AppendResult, any Error>) -> Void) {
        appender.append(unit, completion: completion)
    }

    /// Events after `checkpoint` in commit order.
    public func read(after checkpoint: Checkpoint, limit: Int = 1_000) async throws -> [RecordedEvent] {
        try await pool.withConnection { try EventReader.read(after: checkpoint, limit: limit, on: $0) }
    }

    /// The checkpoint of the newest event committed so far (`.start` when there is none): a
    /// projection that reaches it has applied every event committed before the call.
    ///
    /// The ORDER BY names `events.tx_id`: a bare `tx_id` would mean the output column
    /// `tx_id::text` (an output column's name wins in ORDER BY), which sorts "993" after "1026".
    public func newestCheckpoint() async throws -> Checkpoint {
        let rows = try await pool.execute(
            "SELECT tx_id::text, position FROM events ORDER BY events.tx_id DESC, events.position DESC LIMIT 1")
        return rows.rows.first.map { Checkpoint($0, at: 0) } ?? .start
    }

    /// A stream's events in version order.
    public func readStream(tenant: String, stream: String) async throws -> [RecordedEvent] {
        try await pool.withConnection { try EventReader.readStream(tenant: tenant, stream: stream, on: $0) }
    }

    /// Starts a runner for `projection` sharing this store's notifier.
    public func runner(for projection: any Projection, batchSize: Int = 1_000) -> ProjectionRunner {
        var c = ProjectionRunner.Configuration(url: configuration.url)
        c.batchSize = batchSize
        return ProjectionRunner(projection: projection, configuration: c, notifier: notifier, reads: reads)
    }

    /// Whether the database answers.
    public func ping() async -> Bool {
        (try? await pool.execute("SELECT 1")) != nil
    }

    /// Finishes pending appends and closes every connection.
    public func shutdown() {
        appender.shutdown()
        listener.stop()
        pool.shutdown()
    }
}
