import Foundation
import Postgres
import Synchronization
import ThreadSupport

/// Keeps one projection up to date: reads events after its checkpoint, applies them and moves
/// the checkpoint in the same transaction. One runner per projection is active across all
/// replicas (a session advisory lock); the others stand by and take over when it goes away.
/// The runners of one store share their reads (`SharedEventReads`): woken by the same commit,
/// they usually stand at the same checkpoint and take one read of the batch instead of one each.
public final class ProjectionRunner: @unchecked Sendable {
    // @unchecked Sendable: the connection and `lastErrorText` are used only by the runner's
    // thread; shared state is in `progress` (a Mutex) and the flags (Atomics).

    public struct Configuration: Sendable {
        public var url: String
        /// Events read and applied per transaction. Default 1,000.
        public var batchSize: Int = 1_000
        /// Longest wait between polls when no notification arrives. Default 0.5 s.
        public var pollInterval: TimeInterval = 0.5
        /// How often a standby retries the leader lock. Default 1 s.
        public var standbyInterval: TimeInterval = 1
        /// How long commits holding none of the projection's event types may wait before the
        /// runner reads past them (moving its checkpoint). Default 0.1 s. Commits of its types
        /// wake it at once, and so does anyone waiting for it to catch up (`ProjectionProgress.wait`);
        /// without this every commit woke every runner for one read and one checkpoint write.
        public var unrelatedEventsDelay: TimeInterval = 0.1
        /// Whether a batch's commit waits for its WAL flush. Default false: a projection and its
        /// checkpoint commit together and are rebuilt from the durable event table, so a crash
        /// can only lose the newest batches as a whole, which are then applied again; not
        /// waiting for the disk takes a flush off every batch and so off the projection lag.
        public var synchronousCommit = false

        public init(url: String) { self.url = url }
    }

    public let projection: any Projection
    public let configuration: Configuration
    let notifier: EventNotifier
    /// Reads shared with the process's other runners.
    let reads: SharedEventReads
    public let progress: ProjectionProgress
    /// This runner's subscription to `notifier` (its event types).
    private let subscription: Int
    private let stopFlag = Atomic<Bool>(false)
    private let rebuildRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// The last apply error (runner thread only).
    private var lastErrorText = ""

    /// Creates a runner; runners given the same `reads` share their reads of the event table.
    init(projection: any Projection, configuration: Configuration, notifier: EventNotifier, reads: SharedEventReads) {
        self.projection = projection
        self.configuration = configuration
        self.notifier = notifier
        self.reads = reads
        reads.register(types: projection.eventTypes)
        let subscription = notifier.subscribe(types: projection.eventTypes)
        self.subscription = subscription
        self.progress = ProjectionProgress(name: projection.name) { notifier.nudge(subscription) }
    }

    /// The advisory lock key of a projection's leadership.
    public static func lockKey(_ name: String) -> Int64 {
        // FNV-1a, stable across processes (Hasher is seeded per process).
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in ("projection:" + name).utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return Int64(bitPattern: h)
    }

    public func start() {
        let t = Thread { [self] in
            nameCurrentThread("p:" + projection.name)
            self.run()
        }
        t.name = "projection-\(projection.name)"
        t.start()
    }

    /// Stops after the current batch.
    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
        notifier.signal()
        finished.wait()
    }

    /// Asks the runner to empty the read tables and replay from position 0.
    public func requestRebuild() {
        rebuildRequested.store(true, ordering: .relaxed)
        notifier.signal()
    }

    private var isStopping: Bool { stopFlag.load(ordering: .relaxed) }

    private func run() {
        defer { finished.signal() }
        var connection: PostgresConnection?
        var isLeader = false
        var checkpoint = Checkpoint.start
        var failuresAtCheckpoint = 0
        let key = Self.lockKey(projection.name)
        let prefetcher = EventPrefetcher(url: configuration.url, name: projection.name)
        defer { prefetcher.close() }
        while !isStopping {
            let seen = notifier.position(of: subscription)
            let readAt = Date()
            /// Until a signal that concerns this projection, or the timeout.
            func waitForEvents(timeout: TimeInterval) {
                notifier.wait(
                    subscriber: subscription, after: seen, readAt: readAt,
                    unrelatedDelay: configuration.unrelatedEventsDelay, timeout: timeout)
            }
            do {
                if connection == nil || connection?.isUsable == false {
                    isLeader = false
                    progress.setLeader(false)
                    connection = nil
                    connection = try PostgresConnection(
                        url: configuration.url,
                        setupStatements: configuration.synchronousCommit ? [] : ["SET synchronous_commit = off"])
                }
                let c = connection!
                if !isLeader {
                    let got = try c.execute("SELECT pg_try_advisory_lock($1)", [key])
                    guard got[0].bool(0) == true else {
                        waitForEvents(timeout: configuration.standbyInterval)
                        continue
                    }
                    isLeader = true
                    progress.setLeader(true)
                    checkpoint = try loadCheckpoint(c)
                }
                if rebuildRequested.exchange(false, ordering: .relaxed) {
                    try c.transaction {
                        try projection.reset(on: c)
                        try c.execute(
                            "UPDATE projection_checkpoints SET tx_id = '0', position = 0, updated_at = now() WHERE name = $1",
                            [projection.name])
                    }
                    checkpoint = .start
                    progress.reset()
                }
                // After repeated failures at one checkpoint, go one event at a time to find the
                // poison event; after more, set it aside (recorded) so the projection stays live.
                let limit = failuresAtCheckpoint >= 2 ? 1 : configuration.batchSize
                let types = projection.eventTypes
                // The batch another runner read (or prefetched), or a read of our own.
                let events = try reads.events(after: checkpoint, limit: limit, on: c)
                if events.isEmpty {
                    progress.caughtUp(at: checkpoint)
                    waitForEvents(timeout: configuration.pollInterval)
                    continue
                }
                let next = events.last!.checkpoint
                // A full batch says more are waiting: read the next one while this one applies.
                if events.count == limit && limit > 1 { reads.prefetch(after: next, limit: limit, on: prefetcher) }
                let skip = failuresAtCheckpoint >= 5 && events.count == 1
                let lastError = self.lastErrorText
                let relevant = types.map { types in events.filter { types.contains($0.type) } } ?? events
                // Moves the checkpoint only if it is still ours (otherwise someone else applied);
                // inside the transaction this also locks the row before anything is applied.
                let advance = {
                    try c.execute(
                        """
                        UPDATE projection_checkpoints SET tx_id = $2::xid8, position = $3, updated_at = now()
                        WHERE name = $1 AND tx_id = $4::xid8 AND position = $5
                        """,
                        [
                            self.projection.name, String(next.transactionID), next.position,
                            String(checkpoint.transactionID), checkpoint.position,
                        ]
                    ).affectedRows == 1
                }
                let applied: Bool
                if relevant.isEmpty && !skip {
                    applied = try advance()  // nothing to apply: one statement
                } else {
                    applied = try c.transaction {
                        guard try advance() else { return false }
                        if skip {
                            try c.execute(
                                """
                                INSERT INTO projection_failures (name, position, event_id, error) VALUES ($1, $2, $3, $4)
                                ON CONFLICT DO NOTHING
                                """, [projection.name, events[0].position, events[0].id, lastError])
                        } else {
                            try projection.apply(relevant, on: c)
                        }
                        return true
                    }
                }
                if applied {
                    if skip { progress.recordSkipped() }
                    failuresAtCheckpoint = 0
                    checkpoint = next
                    progress.advanced(to: next, lastEventTime: events.last!.recordedAt, count: events.count)
                } else {
                    checkpoint = try loadCheckpoint(c)
                }
            } catch {
                progress.recordError()
                // Only a failure the event itself could cause counts towards setting it aside:
                // a database that is down, restarting or overloaded must never make a runner
                // skip events (found by the ten-second outage test).
                if !Self.isTransient(error) && connection?.isConnected != false { failuresAtCheckpoint += 1 }
                // The error's type and SQLSTATE only: server messages can quote row values.
                lastErrorText = String(describing: type(of: error)) + ((error as? PostgresError)?.sqlState.map { " " + $0 } ?? "")
                if connection?.isConnected == false {
                    connection = nil
                    isLeader = false
                    progress.setLeader(false)
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        if isLeader, let c = connection { _ = try? c.execute("SELECT pg_advisory_unlock($1)", [key]) }
        connection?.close()
    }

    /// Whether `error` says nothing about the events being applied: the connection or server is
    /// unavailable (class 08, 57), or a transaction, resource or lock problem (40, 53, 55).
    static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        if error.code == .unavailable || error.code == .poolExhausted || error.code == .shutDown { return true }
        guard let state = error.sqlState else { return false }
        return ["08", "40", "53", "55", "57"].contains(String(state.prefix(2)))
    }

    private func loadCheckpoint(_ c: PostgresConnection) throws -> Checkpoint {
        try c.execute(
            "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", [projection.name])
        let row = try c.execute("SELECT tx_id::text, position FROM projection_checkpoints WHERE name = $1", [projection.name])
        return Checkpoint(row[0], at: 0)
    }
}

/// What a runner has done, for read-your-writes waits, readiness and metrics.
public final class ProjectionProgress: Sendable {
    public let name: String
    struct State {
        var checkpoint = Checkpoint.start
        var isLeader = false
        var caughtUp = false
        var lastEventTime: Double = 0
        var applied = 0
        var errors = 0
        var skipped = 0
        var lastCaughtUp = Date.distantPast
        /// Callers of `wait(for:timeout:)`, by a number of their own.
        var waiters: [UInt64: Waiter] = [:]
        var lastWaiter: UInt64 = 0
    }
    struct Waiter {
        let token: Checkpoint
        let continuation: CheckedContinuation<Bool, Never>
    }
    private let state = Mutex(State())
    /// Wakes the runner (someone waits for it to catch up).
    private let nudge: @Sendable () -> Void

    init(name: String, nudge: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.nudge = nudge
    }

    public var checkpoint: Checkpoint { state.withLock { $0.checkpoint } }
    public var isLeader: Bool { state.withLock { $0.isLeader } }
    /// Whether the last read found nothing new.
    public var isCaughtUp: Bool { state.withLock { $0.caughtUp } }
    public var appliedEvents: Int { state.withLock { $0.applied } }
    public var errorCount: Int { state.withLock { $0.errors } }
    /// Events set aside (recorded in `projection_failures`) because applying them kept failing.
    public var skippedEvents: Int { state.withLock { $0.skipped } }

    /// Seconds between now and the commit time of the newest applied event while behind; 0 when
    /// caught up.
    public var lagSeconds: Double {
        state.withLock { s in
            if s.caughtUp { return 0 }
            if s.lastEventTime == 0 { return 0 }
            return max(0, Date().timeIntervalSince1970 - s.lastEventTime)
        }
    }

    /// Whether the projection has caught up recently (within `bound` seconds).
    public func isFresh(within bound: TimeInterval) -> Bool {
        state.withLock { s in s.caughtUp || Date().timeIntervalSince(s.lastCaughtUp) < bound }
    }

    func setLeader(_ leader: Bool) { state.withLock { $0.isLeader = leader } }
    func reset() { state.withLock { $0.checkpoint = .start; $0.caughtUp = false } }
    func recordError() { state.withLock { $0.errors += 1 } }
    func recordSkipped() { state.withLock { $0.skipped += 1 } }
    func caughtUp(at checkpoint: Checkpoint) {
        let reached = state.withLock {
            $0.checkpoint = checkpoint
            $0.caughtUp = true
            $0.lastCaughtUp = Date()
            return Self.takeReached(&$0)
        }
        for w in reached { w.continuation.resume(returning: true) }
    }
    func advanced(to checkpoint: Checkpoint, lastEventTime: Double, count: Int) {
        let reached = state.withLock {
            $0.checkpoint = checkpoint
            $0.caughtUp = false
            $0.lastEventTime = lastEventTime
            $0.applied += count
            return Self.takeReached(&$0)
        }
        for w in reached { w.continuation.resume(returning: true) }
    }

    /// Removes and returns the waiters whose token the checkpoint has reached.
    private static func takeReached(_ s: inout State) -> [Waiter] {
        guard !s.waiters.isEmpty else { return [] }
        let ids = s.waiters.compactMap { $0.value.token <= s.checkpoint ? $0.key : nil }
        return ids.compactMap { s.waiters.removeValue(forKey: $0) }
    }

    /// Waits until the projection has applied the event at `token`, or the timeout passes.
    /// Returns whether it did. The runner wakes the waiter when it gets there (no polling).
    public func wait(for token: Checkpoint, timeout: Duration) async -> Bool {
        if checkpoint >= token { return true }
        return await withCheckedContinuation { continuation in
            let id: UInt64? = state.withLock { s in
                if s.checkpoint >= token { return nil }
                s.lastWaiter &+= 1
                s.waiters[s.lastWaiter] = Waiter(token: token, continuation: continuation)
                return s.lastWaiter
            }
            guard let id else { return continuation.resume(returning: true) }
            // The runner may be letting unrelated commits wait: this one should not.
            nudge()
            let (seconds, attoseconds) = timeout.components
            let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [self] in
                if let w = state.withLock({ $0.waiters.removeValue(forKey: id) }) { w.continuation.resume(returning: false) }
            }
        }
    }
}
