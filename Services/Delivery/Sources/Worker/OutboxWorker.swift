import Foundation
import Postgres
import Service
import Synchronization

/// Drains the outbox: one active worker per database (a session advisory lock on its own
/// connection; a standby retries every second and takes over when the leader's session ends).
///
/// A dedicated thread owns the lock connection, picks due rows and starts up to `concurrency`
/// sends as tasks; a slow provider therefore only fills those slots and never blocks HTTP
/// handlers or projections. On taking the lead it makes rows left `sending` by a dead leader
/// due again (at least once: such a message may go out twice, never zero times).
final class OutboxWorker: BackgroundWorker, @unchecked Sendable {
    // @unchecked Sendable: `connection` is touched only by the worker thread; all shared state
    // is in `state` (a Mutex), `stopping` (an Atomic) and `condition` (its own lock).

    /// The advisory lock key of the outbox worker (FNV-1a of "delivery:outbox").
    static let lockKey: Int64 = {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "delivery:outbox".utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return Int64(bitPattern: h)
    }()

    struct State {
        /// Messages being sent, by tenant and message (whatever version the row had when picked).
        var inFlight: Set<String> = []
        var isLeader = false
    }

    let url: String
    let sender: MessageSender
    let concurrency: Int
    /// How long an idle leader waits before looking again (wake-ups come earlier).
    var pollInterval: TimeInterval = 0.25
    /// How often a standby retries the lock.
    var standbyInterval: TimeInterval = 1
    /// How long `stop()` waits for sends in flight.
    var drainTimeout: TimeInterval = 10

    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)
    private let condition = NSCondition()
    private var generation: UInt64 = 0  // guarded by `condition`
    private let finished = DispatchSemaphore(value: 0)
    private var connection: PostgresConnection?

    init(url: String, sender: MessageSender, concurrency: Int) {
        self.url = url
        self.sender = sender
        self.concurrency = concurrency
    }

    /// Whether this worker holds the lock.
    var isLeader: Bool { state.withLock { $0.isLeader } }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "delivery-outbox"
        thread.start()
    }

    /// Stops picking, waits (bounded) for sends in flight, releases the lock.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        wake()
        finished.wait()
    }

    /// Something may be due (a new request, a finished send).
    func wake() {
        condition.lock()
        generation &+= 1
        condition.broadcast()
        condition.unlock()
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    private func waitForWake(after seen: UInt64, timeout: TimeInterval) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        while generation == seen && !isStopping {
            if !condition.wait(until: deadline) { break }
        }
        condition.unlock()
    }

    private var currentGeneration: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return generation
    }

    private func run() {
        defer { finished.signal() }
        while !isStopping {
            let seen = currentGeneration
            do {
                if connection?.isConnected != true {
                    setLeader(false)
                    connection?.close()
                    connection = try PostgresConnection(url: url)
                }
                let c = connection!
                if !isLeader {
                    guard try c.execute("SELECT pg_try_advisory_lock($1)", [Self.lockKey])[0].bool(0) == true else {
                        waitForWake(after: seen, timeout: standbyInterval)
                        continue
                    }
                    // The previous leader is gone: what it had in flight is due again.
                    try c.execute("UPDATE delivery_outbox SET lease_until = now() WHERE state = 'sending'")
                    setLeader(true)
                }
                let free = concurrency - state.withLock { $0.inFlight.count }
                var started = 0
                if free > 0 {
                    for due in try pickDue(c, limit: free + state.withLock { $0.inFlight.count }) {
                        guard started < free else { break }
                        let fresh = state.withLock { $0.inFlight.insert(due.key).inserted }
                        guard fresh else { continue }
                        started += 1
                        let sender = self.sender
                        Task {
                            await sender.send(due)
                            self.state.withLock { _ = $0.inFlight.remove(due.key) }
                            self.wake()
                        }
                    }
                }
                if started == 0 || started < free { waitForWake(after: seen, timeout: pollInterval) }
            } catch {
                if connection?.isConnected == false {
                    connection = nil
                    setLeader(false)
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        drain()
        if isLeader, let c = connection { _ = try? c.execute("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
        setLeader(false)
        connection?.close()
        connection = nil
    }

    /// Waits (bounded) until the sends in flight have recorded their outcome.
    private func drain() {
        let deadline = Date(timeIntervalSinceNow: drainTimeout)
        while Date() < deadline, state.withLock({ !$0.inFlight.isEmpty }) {
            let seen = currentGeneration
            condition.lock()
            while generation == seen { if !condition.wait(until: deadline) { break } }
            condition.unlock()
        }
    }

    private func setLeader(_ leader: Bool) { state.withLock { $0.isLeader = leader } }

    private func pickDue(_ c: PostgresConnection, limit: Int) throws -> [DueMessage] {
        let rows = try c.execute(
            """
            SELECT tenant, message_hex, version, attempts FROM delivery_outbox
            WHERE (state = 'pending' AND due_at <= now()) OR (state = 'sending' AND lease_until < now())
            ORDER BY due_at LIMIT $1
            """, [limit])
        return rows.rows.map { r in
            DueMessage(tenant: r[0] ?? "", messageHex: r[1] ?? "", version: r.int64(2) ?? 0, attempts: r.int(3) ?? 0)
        }
    }
}
