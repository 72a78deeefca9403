import Foundation
import Postgres
import Service
import Synchronization
import ThreadSupport

/// Drains the outbox: one active worker per database (a session advisory lock on its own
/// connection; a standby retries every second and takes over when the leader's session ends).
///
/// A dedicated thread owns the lock connection and claims due rows in batches of up to
/// `batchSize` (one query), each handed to a task that sends it (`MessageSender`); up to
/// `batchesInFlight` batches overlap, sharing `concurrency` sends in flight at once (`SendSlots`:
/// a batch that is sending may use every slot the others, busy with the database, leave free),
/// so one batch's database work runs while another's emails are on the wire. A slow provider
/// only fills those slots and never blocks HTTP handlers or projections. The worker sleeps until
/// the outbox projection's NOTIFY (sent when new rows commit, from any process), a finished
/// batch, or the poll interval (retries falling due). On taking the lead it makes rows left
/// `sending` by a dead leader due again (at least once: such a message may go out twice, never
/// zero times). Each stretch of leading is a `LeadershipTerm`: a batch stops handing emails to
/// the transport when its term ends, and a new term takes over an earlier leader's claims only
/// after `takeoverGrace`, so an old leader that lost its lock session but lives on does not send
/// what the new one sends.
final class OutboxWorker: BackgroundWorker, @unchecked Sendable {
    // @unchecked Sendable: `connection` is touched only by the worker thread; all shared state
    // is in `state` (a Mutex), `stopping` (an Atomic), `condition` (its own lock) and the
    // listener (thread-safe).

    /// The channel the outbox projection notifies when messages become due.
    static let notifyChannel = "delivery_outbox"

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
        /// Messages being sent, by `DueMessage.key` (whatever version the row had when picked).
        var inFlight: [String: DueMessage] = [:]
        /// Batches being sent.
        var batches = 0
        var isLeader = false
    }

    let url: String
    let sender: MessageSender
    let concurrency: Int
    /// Most messages claimed in one round.
    var batchSize = 100
    /// Most batches in flight at once. A batch spends much of its time waiting on the database
    /// (its `queued` and outcome appends share group commits with everything else), so several
    /// must overlap for one of them to be sending at any moment: with two, the sessions sat idle
    /// between batches (the sink busy about 70% of the time); with eight they stay fed even
    /// while requests are being accepted.
    var batchesInFlight = 8
    /// How long an idle leader waits before looking again (wake-ups come earlier).
    var pollInterval: TimeInterval = 0.25
    /// How often a standby retries the lock.
    var standbyInterval: TimeInterval = 1
    /// How long `stop()` waits for sends in flight.
    var drainTimeout: TimeInterval = 10
    /// How long a new leader leaves claims of an earlier leader alone (`LeadershipTerm`). The
    /// earlier leader, if it lives, records the outcomes it has within about a second of the
    /// database taking appends again, and at most `concurrency` of its emails were with the
    /// transport when it lost the lock.
    var takeoverGrace: Duration = .seconds(5)

    /// The sends on the wire at once, shared by the batches in flight.
    private let slots: SendSlots
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)
    private let condition = NSCondition()
    private var generation: UInt64 = 0  // guarded by `condition`
    private let finished = DispatchSemaphore(value: 0)
    private var connection: PostgresConnection?
    private var listener: PostgresListener?
    /// While this worker leads (touched only by the worker thread).
    private var term: LeadershipTerm?
    /// Cleared once `run` has drained and returned: outcomes not recorded by then are given up.
    private let running = Atomic<Bool>(true)

    init(url: String, sender: MessageSender, concurrency: Int) {
        self.url = url
        self.sender = sender
        self.concurrency = concurrency
        self.slots = SendSlots(concurrency)
    }

    /// Whether this worker holds the lock.
    var isLeader: Bool { state.withLock { $0.isLeader } }

    /// Messages claimed by this worker whose outcome is not recorded yet.
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }

    func start() {
        let listener = PostgresListener(url: url, channels: [Self.notifyChannel]) { [weak self] _, _ in self?.wake() }
        self.listener = listener
        listener.start()
        let thread = Thread { [self] in
            nameCurrentThread("outbox-worker")
            run()
        }
        thread.name = "delivery-outbox"
        thread.start()
    }

    /// Stops picking and handing emails to the transport, waits (bounded) for the sends already
    /// there, releases the lock.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        wake()
        finished.wait()
        listener?.stop()
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
                if connection?.isUsable != true {
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
                    // The previous leader is gone: what it had in flight is due again (its claims
                    // left those rows pending; rows earlier versions moved to `sending` are freed).
                    try c.execute("UPDATE delivery_outbox SET lease_until = now() WHERE state = 'sending'")
                    setLeader(true)
                }
                var started = 0
                let (inFlight, batches) = state.withLock { (Array($0.inFlight.values), $0.batches) }
                // `concurrency` sends in flight at most, shared by the batches.
                let batchLimit = max(1, min(batchesInFlight, concurrency))
                if batches < batchLimit {
                    var batch: [DueMessage] = []
                    for due in try pickDue(c, limit: batchSize, skipping: inFlight) where batch.count < batchSize {
                        if state.withLock({ $0.inFlight.updateValue(due, forKey: due.key) == nil }) { batch.append(due) }
                    }
                    if !batch.isEmpty, let term {
                        started = batch.count
                        state.withLock { $0.batches += 1 }
                        let sender = self.sender
                        Task {
                            await sender.send(batch, slots: self.slots, term: term) { self.running.load(ordering: .relaxed) }
                            self.state.withLock {
                                for due in batch { $0.inFlight[due.key] = nil }
                                $0.batches -= 1
                            }
                            self.wake()
                        }
                    }
                }
                // A full batch suggests more are due: look again at once if a slot is free.
                if started < batchSize || batches + 1 >= batchLimit {
                    waitForWake(after: seen, timeout: pollInterval)
                }
            } catch {
                if connection?.isConnected == false {
                    connection = nil
                    setLeader(false)
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        // Stopping ends the term first: what is with the transport finishes and is recorded,
        // the rest stays claimed for the next leader (sending it all could outlast the drain,
        // and a process that exits with sends on the wire has them sent again).
        term?.end()
        drain()
        if isLeader, let c = connection { _ = try? c.execute("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
        setLeader(false)
        running.store(false, ordering: .relaxed)
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

    private func setLeader(_ leader: Bool) {
        if leader {
            term = LeadershipTerm(takeoverGrace: takeoverGrace)
        } else {
            term?.end()
            term = nil
        }
        state.withLock { $0.isLeader = leader }
        // Accepted requests are remembered for the worker only while it leads here.
        sender.recent.isCollecting = leader
    }

    /// Up to `limit` due rows, oldest first, other than those of the messages in flight: their
    /// rows stay due until their outcomes move them, and they are the oldest, so they are left
    /// out in the server rather than sent back with every pick.
    private func pickDue(_ c: PostgresConnection, limit: Int, skipping inFlight: [DueMessage]) throws -> [DueMessage] {
        let rows = try c.execute(
            """
            (SELECT tenant, message_hex, version, attempts FROM delivery_outbox
             WHERE state = 'pending' AND due_at <= now()
               AND (tenant, message_hex) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))
             ORDER BY due_at LIMIT $1)
            UNION ALL
            (SELECT tenant, message_hex, version, attempts FROM delivery_outbox
             WHERE state = 'sending' AND lease_until < now() ORDER BY lease_until LIMIT $1)
            LIMIT $1
            """,
            [limit, PostgresBinaryArray(texts: inFlight.map(\.tenant)), PostgresBinaryArray(texts: inFlight.map(\.messageHex))])
        return rows.rows.map { r in
            DueMessage(tenant: r[0] ?? "", messageHex: r[1] ?? "", version: r.int64(2) ?? 0, attempts: r.int(3) ?? 0)
        }
    }
}
