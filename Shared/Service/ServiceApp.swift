import Crypto
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Privacy

/// Something a service runs beside its HTTP server (projection runners, the outbox worker).
public protocol BackgroundWorker: Sendable {
    func start()
    func stop()
}

extension ProjectionRunner: BackgroundWorker {}

/// What every executable shares: the event store, the personal-data vault, metrics, logging,
/// idempotency, the HTTP server with `/healthz`, `/readyz` and `/metrics`, migrations at start
/// and a graceful stop. Tests build the same app with port 0 against their own database.
public final class ServiceApp: Sendable {
    public let name: String
    public let configuration: ServiceConfiguration
    public let store: EventStore
    public let vault: PersonalDataVault
    public let metrics: MetricsRegistry
    public let logger: RequestLogger
    public let idempotency: IdempotencyStore
    /// Projection runners and other workers, started after migrations.
    let workers: LockedBox<[any BackgroundWorker]>
    let runners: LockedBox<[ProjectionRunner]>
    let server: LockedBox<HTTPServer?>
    let ready: LockedBox<Bool>
    /// Whether the workers were started (only started workers are stopped).
    let workersStarted: LockedBox<Bool>

    public init(name: String, configuration: ServiceConfiguration, logSink: (@Sendable (String) -> Void)? = nil) {
        self.name = name
        self.configuration = configuration
        var sc = EventStore.Configuration(url: configuration.databaseURL)
        sc.poolSize = configuration.poolSize
        sc.committers = configuration.eventCommitters
        let metrics = MetricsRegistry()
        let batchSizes = metrics.histogram(
            "eventstore_append_batch_events", help: "Events per group-commit transaction",
            buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000])
        sc.onCommit = { batchSizes.observe(Double($0)) }
        self.store = EventStore(configuration: sc)
        self.vault = PersonalDataVault(masterKeys: configuration.masterKeys)
        self.metrics = metrics
        self.logger = RequestLogger(level: configuration.logLevel, sink: logSink ?? RequestLogger.stdout)
        self.idempotency = IdempotencyStore(pool: store.pool)
        self.workers = LockedBox([])
        self.runners = LockedBox([])
        self.server = LockedBox(nil)
        self.ready = LockedBox(false)
        self.workersStarted = LockedBox(false)
        let store = self.store
        metrics.computedGauge("db_pool_in_use", help: "Pooled connections running a query") { Double(store.pool.inUse) }
        metrics.computedGauge("db_pool_waiting", help: "Jobs waiting for a pooled connection") { Double(store.pool.waiting) }
        metrics.computedGauge("db_pool_size", help: "Pooled connections") { Double(store.pool.configuration.size) }
        metrics.computedGauge("eventstore_committed_batches", help: "Group-commit transactions since start") {
            Double(store.appender.committed.batches)
        }
        metrics.computedGauge("eventstore_committed_events", help: "Events appended since start") {
            Double(store.appender.committed.events)
        }
    }

    /// Applies the event store's migrations, the shared ones and the service's own; then checks
    /// that `MASTER_KEY` opens the keys already stored (a `ConfigurationError` if it does not).
    public func migrate(component: String, migrations: [Migration]) async throws {
        try await store.migrate()
        let vault = self.vault
        let problem = try await store.pool.withConnection { c in
            try Migrator.migrate(c, component: "idempotency", migrations: IdempotencyStore.migrations)
            try Migrator.migrate(c, component: component, migrations: migrations)
            return try vault.masterKeyProblem(on: c)
        }
        if let problem { throw ConfigurationError("MASTER_KEY: \(problem)") }
    }

    /// A runner for `projection`, registered to start with the app and to report its lag.
    public func addProjection(_ projection: any Projection, batchSize: Int = 1_000) -> ProjectionRunner {
        let runner = store.runner(for: projection, batchSize: batchSize)
        runners.withLock { $0.append(runner) }
        workers.withLock { $0.append(runner) }
        let progress = runner.progress
        metrics.computedGauge(
            "projection_lag_seconds_\(projection.name)", help: "Seconds the \(projection.name) projection is behind"
        ) { progress.lagSeconds }
        metrics.computedGauge(
            "projection_applied_events_\(projection.name)", help: "Events applied by \(projection.name) since start"
        ) { Double(progress.appliedEvents) }
        metrics.computedGauge("projection_leader_\(projection.name)", help: "1 when this replica runs \(projection.name)") {
            progress.isLeader ? 1 : 0
        }
        return runner
    }

    /// Registers a worker that starts with the app and stops before the store closes.
    public func addWorker(_ worker: any BackgroundWorker) {
        workers.withLock { $0.append(worker) }
    }

    /// The routes every service serves without authentication.
    func addOperationalRoutes(to router: inout Router) {
        router.inline("GET", "/healthz", requiresAuth: false) { _, _ in
            .json(["status": "ok"])
        }
        let metrics = self.metrics
        let expected = configuration.metricsToken.map { Array("Bearer \($0)".utf8) }
        router.inline("GET", "/metrics", requiresAuth: false) { request, _ in
            if let expected {
                let given = Array((request.headers["Authorization"] ?? "").utf8)
                guard ConstantTime.equals(given, expected) else {
                    return .error(status: .unauthorized, message: "metrics require the METRICS_TOKEN bearer token")
                }
            }
            return metrics.response()
        }
        router.on("GET", "/readyz", requiresAuth: false) { [self] _, _ in
            var checks = JSONObject()
            let database = await store.ping()
            checks["database"] = .bool(database)
            let migrated = ready.withLock { $0 }
            checks["migrations"] = .bool(migrated)
            var projectionsOK = true
            var projections = JSONObject()
            for r in runners.withLock({ $0 }) {
                let p = r.progress
                let fresh = !p.isLeader || p.isFresh(within: 10)
                projections[p.name] = .object([
                    "leader": .bool(p.isLeader), "caught_up": .bool(p.isCaughtUp), "lag_seconds": .double(p.lagSeconds),
                ])
                projectionsOK = projectionsOK && fresh
            }
            checks["projections"] = .object(projections)
            let ok = database && migrated && projectionsOK
            return .json(
                ["status": .string(ok ? "ready" : "not ready"), "checks": .object(checks)],
                status: ok ? .ok : .serviceUnavailable)
        }
    }

    /// Starts workers and the HTTP server on `router` (plus the operational routes). Returns
    /// once the server listens; `port` then tells where.
    public func start(router: Router, host: String? = nil, port: Int? = nil) throws {
        var router = router
        router.authenticator = APIKeyAuthenticator(keys: configuration.apiKeys)
        addOperationalRoutes(to: &router)
        for w in workers.withLock({ $0 }) { w.start() }
        workersStarted.withLock { $0 = true }
        var sc = HTTPServer.Configuration(host: host ?? configuration.host, port: port ?? configuration.port)
        sc.maxBodyBytes = configuration.maxBodyBytes
        let server = HTTPServer(router: router, configuration: sc, metrics: metrics, logger: logger)
        try server.start()
        self.server.withLock { $0 = server }
        ready.withLock { $0 = true }
        logger.log(.info, "\(name) listening", ["port": .int(server.port), "host": .string(sc.host)])
    }

    /// The bound port.
    public var port: Int { server.withLock { $0?.port ?? 0 } }

    /// The projection runners.
    public var projectionRunners: [ProjectionRunner] { runners.withLock { $0 } }

    /// Stops accepting, finishes in-flight requests and pending appends, stops the workers and
    /// closes the database connections.
    public func shutdown() async {
        if let server = server.withLock({ $0 }) { await server.shutdown() }
        if workersStarted.withLock({ $0 }) {
            for w in workers.withLock({ $0 }).reversed() { w.stop() }
        }
        store.shutdown()
    }

    /// Waits for the read model of this service to include `token` (read-your-writes).
    public func waitForConsistency(_ token: Checkpoint, timeout: Duration = .seconds(5)) async throws {
        let runners = self.runners.withLock { $0 }
        for r in runners where try await !waitFor(r, toReach: token, timeout: timeout) {
            throw HTTPError(.serviceUnavailable, "the read model has not caught up with the consistency token yet; retry")
        }
    }

    /// Waits for the projection called `name` to have applied `token`; returns whether it did
    /// within `timeout` (true at once for a name this app does not run).
    public func waitForProjection(named name: String, toReach token: Checkpoint, timeout: Duration) async throws -> Bool {
        guard let runner = runners.withLock({ $0.first { $0.projection.name == name } }) else { return true }
        return try await waitFor(runner, toReach: token, timeout: timeout)
    }

    /// The leader's progress in this process, or the checkpoint a leader elsewhere stored.
    private func waitFor(_ runner: ProjectionRunner, toReach token: Checkpoint, timeout: Duration) async throws -> Bool {
        if runner.progress.isLeader { return await runner.progress.wait(for: token, timeout: timeout) }
        return try await waitForStoredCheckpoint(runner.projection, token, timeout: timeout)
    }

    /// Standby replicas follow the leader's checkpoint in the database. A leader lets commits of
    /// none of its projection's types wait a little before moving past them
    /// (`unrelatedEventsDelay`), so a checkpoint behind the token with no event of those types
    /// in between has everything the token asks for.
    private func waitForStoredCheckpoint(_ projection: any Projection, _ token: Checkpoint, timeout: Duration)
        async throws -> Bool
    {
        // One statement a poll: the stored checkpoint, and (for a projection of some types)
        // whether none of its events lies between it and the token.
        let types: PostgresArray? = projection.eventTypes.map { PostgresArray($0.sorted()) }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            let row = try await store.pool.execute(
                """
                SELECT c.tx_id::text, c.position, $4::text[] IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM events e
                     WHERE (e.tx_id, e.position) > (c.tx_id, c.position) AND (e.tx_id, e.position) <= ($2::xid8, $3::bigint)
                       AND e.type = ANY($4::text[]))
                  FROM projection_checkpoints c WHERE c.name = $1
                """,
                [projection.name, String(token.transactionID), token.position, types])
            if let r = row.rows.first, Checkpoint(r, at: 0) >= token || r.bool(2) == true { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

/// A value behind a lock, for the app's few mutable registrations.
final class LockedBox<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched inside `withLock`, under `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
