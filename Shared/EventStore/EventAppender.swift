import Foundation
import Postgres
import ThreadSupport

/// Appends events with group commit: appends that arrive while a transaction is being committed
/// wait and go together into the next one: one transaction, one multi-row INSERT, one NOTIFY.
/// Each caller is answered only after that transaction has committed durably
/// (`synchronous_commit` stays on).
///
/// The committer thread (or threads, each with its own connection) remembers stream heads, so a
/// batch of known streams costs one round trip: one self-committing INSERT statement.
public final class EventAppender: @unchecked Sendable {
    // @unchecked Sendable: the pending queue and counters are only touched under `condition`,
    // `backlogPosted` only under `backlogCondition`;
    // each committer's connection is used only by its own thread.

    /// Tuning of group commit. Defaults suit a small machine.
    public struct Configuration: Sendable {
        public var url: String
        /// Committer threads/connections. Default 2. The first takes whatever is pending; the
        /// others only a backlog of at least `parallelCommitThreshold` events, so small appends
        /// still gather into one large group commit (two committers sharing a stream of single
        /// events measured slower: smaller groups, more commits), while a backlog of batches keeps
        /// two transactions in flight. Two committers writing the same stream at once collide on
        /// its next version; the loser plans again from a lookup.
        public var committers: Int = 2
        /// Fewest pending events for which a committer other than the first takes a batch.
        /// Default 1,000 (one full `/api/v2/batch`).
        public var parallelCommitThreshold: Int = 1_000
        /// Most events in one transaction. Default 5,000.
        public var maximumBatchEvents: Int = 5_000
        /// Most pending appends before new ones fail fast with `poolExhausted`. Default 50,000.
        public var maximumPending: Int = 50_000
        /// The channel notified once per committed batch.
        public var notifyChannel: String = "events"

        public init(url: String) { self.url = url }
    }

    typealias Completion = @Sendable (Result<AppendResult, any Error>) -> Void

    struct Pending {
        let unit: [StreamAppend]
        let eventCount: Int
        let completion: Completion
    }

    public let configuration: Configuration
    /// The origin in this appender's notifications (`EventNotification`): a listener in the same
    /// process skips them, since `onCommit` has already woken its readers (each commit woke every
    /// projection runner twice, the second time for nothing).
    public let notificationOrigin = RandomUUID.makeTimeOrdered().uuidString
    private let condition = NSCondition()
    private var pending: [Pending] = []
    /// Events in `pending`.
    private var pendingEvents = 0
    /// Where helper committers wait for a backlog; `backlogPosted` is under it.
    private let backlogCondition = NSCondition()
    private var backlogPosted = false
    private var stopping = false
    private var running = 0
    private var activeBatches = 0
    private var threads: [Thread] = []

    /// Called after every committed batch with its event count and types (for metrics and local
    /// wake-ups).
    private let onCommit: @Sendable (Int, Set<String>) -> Void

    private var statistics = (batches: 0, events: 0)
    /// Stream heads known to this appender (under `condition`).
    private var headCache = StreamHeadCache()

    public init(configuration: Configuration, onCommit: @escaping @Sendable (Int, Set<String>) -> Void = { _, _ in }) {
        self.configuration = configuration
        self.onCommit = onCommit
        for i in 0..<max(1, configuration.committers) {
            let t = Thread { [unowned self] in
                nameCurrentThread("committer-\(i)")
                self.committerLoop(index: i)
            }
            t.name = "event-committer-\(i)"
            threads.append(t)
        }
        running = threads.count
        for t in threads { t.start() }
    }

    /// Committed transactions and events since start.
    public var committed: (batches: Int, events: Int) {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    /// Appends events to one stream.
    @discardableResult
    public func append(_ append: StreamAppend) async throws -> AppendResult {
        try await self.append([append])
    }

    /// Appends events to one or more streams atomically: all are written or none.
    @discardableResult
    public func append(_ unit: [StreamAppend]) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            append(unit) { continuation.resume(with: $0) }
        }
    }

    /// Appends events to one or more streams atomically, and calls `completion` once with the
    /// outcome: on the committer's thread after the durable commit (so it must be quick), or at
    /// once on the caller's thread when the append is refused before queueing.
    public func append(_ unit: [StreamAppend], completion: @escaping @Sendable (Result<AppendResult, any Error>) -> Void) {
        let count = unit.reduce(0) { $0 + $1.events.count }
        guard count > 0 else { return completion(.failure(AppendError.invalid("nothing to append"))) }
        guard count <= configuration.maximumBatchEvents else {
            return completion(.failure(AppendError.invalid("too many events in one append")))
        }
        condition.lock()
        if stopping {
            condition.unlock()
            return completion(.failure(PostgresError(code: .shutDown)))
        }
        if pending.count >= configuration.maximumPending {
            condition.unlock()
            return completion(.failure(PostgresError(code: .poolExhausted)))
        }
        pending.append(Pending(unit: unit, eventCount: count, completion: completion))
        pendingEvents += count
        condition.signal()
        let backlog = threads.count > 1 && pendingEvents >= configuration.parallelCommitThreshold
        condition.unlock()
        if backlog { postBacklog() }
    }

    /// Appends each unit atomically on its own (one unit's refusal or failure never affects
    /// another's), and waits once for all of them: for a caller with many independent appends at
    /// once, such as the outbox worker's `queued` events, instead of one task and one
    /// continuation each. The results come in the units' order.
    public func appendEach(_ units: [[StreamAppend]]) async -> [Result<AppendResult, any Error>] {
        let results = IndexedResults<Result<AppendResult, any Error>>(count: units.count)
        for (i, unit) in units.enumerated() { append(unit) { results.set(i, $0) } }
        return await results.all()
    }

    /// Wakes the helper committers (index > 0): they wait on their own condition, so the many
    /// small appends that never make a backlog wake only the first committer.
    private func postBacklog() {
        backlogCondition.lock()
        backlogPosted = true
        backlogCondition.broadcast()
        backlogCondition.unlock()
    }

    /// Finishes the pending appends, then stops the committers.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        postBacklog()
        condition.lock()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    /// The next batch for committer `index` (nil when stopping and nothing is left).
    private func takeBatch(index: Int) -> [Pending]? {
        if index == 0 {
            condition.lock()
            defer { condition.unlock() }
            while pending.isEmpty && !stopping { condition.wait() }
            return pending.isEmpty ? nil : takeLocked()
        }
        while true {
            condition.lock()
            if pendingEvents >= configuration.parallelCommitThreshold || (stopping && !pending.isEmpty) {
                defer { condition.unlock() }
                return takeLocked()
            }
            let stop = stopping
            condition.unlock()
            if stop { return nil }
            backlogCondition.lock()
            while !backlogPosted { backlogCondition.wait() }
            backlogPosted = false
            backlogCondition.unlock()
        }
    }

    /// Takes the oldest pending appends, up to `maximumBatchEvents` (at least one). Under `condition`.
    private func takeLocked() -> [Pending] {
        var events = 0
        var n = 0
        while n < pending.count && (n == 0 || events + pending[n].eventCount <= configuration.maximumBatchEvents) {
            events += pending[n].eventCount
            n += 1
        }
        let batch = Array(pending[0..<n])
        pending.removeFirst(n)
        pendingEvents -= events
        return batch
    }

    /// Every join a committer makes pairs a batch (at most a few thousand ids, keys or streams)
    /// with a large table by its key: probe the index for each, whatever the statistics say.
    /// With hash joins allowed, the plan cached while `subject_keys` was small (or not yet
    /// analyzed) scanned the whole table for every append that carried personal data.
    static let sessionSettings = ["SET enable_hashjoin = off", "SET enable_mergejoin = off"]

    private func committerLoop(index: Int) {
        var connection: PostgresConnection?
        while let batch = takeBatch(index: index) {
            do {
                // Checked before each batch: a connection the server closed while it was idle (a
                // restart, a failover) is replaced before the batch, not found dead by it.
                if connection == nil || connection?.isUsable == false {
                    connection = nil
                    connection = try PostgresConnection(url: configuration.url, setupStatements: Self.sessionSettings)
                }
                // The batch's event types, for the NOTIFY payload and the local wake-up alike.
                var types = Set<String>()
                for p in batch { for append in p.unit { for e in append.events { types.insert(e.type) } } }
                let results = try commitWithRetry(batch, types: types, on: connection!)
                let events = batch.reduce(0) { $0 + $1.eventCount }
                condition.lock()
                statistics.batches += 1
                statistics.events += events
                condition.unlock()
                onCommit(events, types)
                for (p, r) in zip(batch, results) { p.completion(r) }
            } catch {
                // The outcome is unknown only when the connection broke during COMMIT; the callers
                // get "unavailable" and retry with the same event ids, which is idempotent.
                if connection?.isConnected == false { connection = nil }
                for p in batch { p.completion(.failure(error)) }
            }
        }
        connection?.close()
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Commits a batch; when another writer raced us on a stream version, plans again.
    private func commitWithRetry(_ batch: [Pending], types: Set<String>, on connection: PostgresConnection) throws
        -> [Result<AppendResult, any Error>]
    {
        var attempt = 0
        while true {
            do {
                return try commit(batch, types: types, on: connection, trustCache: attempt == 0)
            } catch let error as PostgresError where (error.isUniqueViolation || error.sqlState == "40P01") && attempt < 5 {
                // Another writer took a version or an id first, or two committers inserting into
                // the same streams deadlocked on the unique index (40P01): plan again.
                attempt += 1
            } catch {
                // The outcome is unknown (or nothing was written): forget what this batch touched.
                let keys = AppendPlanner.streamKeys(batch.map { $0.unit })
                withLock { headCache.forget(keys) }
                throw error
            }
        }
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    /// What the plan of a batch starts from: existing ids, stream heads, live keys.
    struct Known {
        var existing: [UUID: AppendPlanner.ExistingEvent] = [:]
        var heads: [AppendPlanner.StreamKey: Int64] = [:]
        var liveKeys = Set<UUID>()
        /// False when ids were not looked up and keys were assumed live (the fast path).
        var complete = true
    }

    /// The lookup round trip: which of `ids` exist, the heads of `keys`, which of `keyIDs` are live.
    private func lookup(ids: [UUID], keys: [AppendPlanner.StreamKey], keyIDs: [UUID], on connection: PostgresConnection) throws -> Known {
        var known = Known()
        let rows = try connection.execute(
            """
            SELECT 'id', event_id::text, position, tx_id::text, tenant, stream, version
              FROM events WHERE event_id = ANY($1::uuid[])
            UNION ALL
            SELECT 'head', NULL, NULL, NULL, k.tenant, k.stream,
                   (SELECT e.version FROM events e WHERE e.tenant = k.tenant AND e.stream = k.stream
                    ORDER BY e.version DESC LIMIT 1)
              FROM unnest($2::text[], $3::text[]) AS k(tenant, stream)
            UNION ALL
            SELECT 'key', key_id::text, NULL, NULL, NULL, NULL, NULL
              FROM subject_keys WHERE key_id IN (SELECT unnest($4::uuid[]))
            """,
            [
                PostgresBinaryArray(uuids: ids), PostgresBinaryArray(texts: keys.map { $0.tenant }),
                PostgresBinaryArray(texts: keys.map { $0.stream }), PostgresBinaryArray(uuids: keyIDs),
            ])
        for r in rows.rows {
            switch r[0] {
            case "id":
                guard let id = r[1].flatMap(UUID.init(uuidString:)) else { continue }
                known.existing[id] = .init(
                    position: r.int64(2) ?? 0, transactionID: UInt64(r[3] ?? "0") ?? 0, tenant: r[4] ?? "",
                    stream: r[5] ?? "", version: r.int64(6) ?? 0)
            case "head":
                known.heads[.init(tenant: r[4] ?? "", stream: r[5] ?? "")] = r.int64(6) ?? 0
            default:
                if let id = r[1].flatMap(UUID.init(uuidString:)) { known.liveKeys.insert(id) }
            }
        }
        return known
    }

    /// One batch, in one round trip when every stream's head is cached or the stream is only
    /// appended with `.noStream` (`trustCache`; such a stream is assumed new, not looked up: if it
    /// exists, its version 1 makes the INSERT collide; nor is it remembered, as most are one-off
    /// streams, a tracked event's for one, unless the append asks, `StreamAppend.remembersHead`):
    /// the INSERT statement is its own transaction: it locks the keys it relies on (FOR SHARE), inserts every
    /// row, and sends one NOTIFY. Otherwise a lookup comes first (of the unknown heads only, or of
    /// everything the plan needs when the cache is not trusted). A planned row whose id exists
    /// already, or whose version another writer took, makes the INSERT fail on a unique index; a
    /// key destroyed meanwhile makes it insert nothing; a refusal for a wrong expected version may
    /// come from a stale head: each of these plans the batch again from a full lookup.
    private func commit(_ batch: [Pending], types: Set<String>, on connection: PostgresConnection, trustCache: Bool) throws
        -> [Result<AppendResult, any Error>]
    {
        let units = batch.map { $0.unit }
        let keysByUnit = AppendPlanner.keysByUnit(units)
        let keyIDs = Set(units.flatMap { $0.flatMap { $0.events.compactMap { $0.keyID } } })
        var trustCache = trustCache
        while true {
            var known: Known
            if trustCache {
                // `.noStream` streams are planned as new without a look (`newIfNoStream`).
                let keys = AppendPlanner.streamKeys(keysByUnit, skippingNoStreamOf: units)
                var cached: [AppendPlanner.StreamKey: Int64] = [:]
                cached.reserveCapacity(keys.count)
                var unknown: [AppendPlanner.StreamKey] = []
                withLock {
                    for k in keys {
                        if let h = headCache[k] { cached[k] = h } else { unknown.append(k) }
                    }
                }
                known = unknown.isEmpty ? Known() : try lookup(ids: [], keys: unknown, keyIDs: [], on: connection)
                withLock { headCache.record(known.heads) }
                if known.heads.isEmpty { known.heads = cached } else { known.heads.merge(cached) { a, _ in a } }
                known.liveKeys = keyIDs
                known.complete = false
            } else {
                let ids = units.flatMap { $0.flatMap { $0.events.map { $0.id } } }
                known = try lookup(ids: ids, keys: AppendPlanner.streamKeys(keysByUnit), keyIDs: Array(keyIDs), on: connection)
                withLock { headCache.record(known.heads) }
            }
            let (outcomes, rows) = AppendPlanner.plan(
                units: units, existing: known.existing, heads: known.heads, liveKeys: known.liveKeys, keys: keysByUnit,
                newIfNoStream: !known.complete)
            if !known.complete, outcomes.contains(where: { if case .refused(.wrongExpectedVersion) = $0 { true } else { false } }) {
                trustCache = false  // maybe a stale head: decide from the database
                continue
            }
            // Positions by row index, and the transaction id (one transaction: the same for all).
            var inserted = [(position: Int64, tx: UInt64)](repeating: (0, 0), count: rows.count)
            if !rows.isEmpty {
                let needed = Set(rows.compactMap { $0.event.keyID })
                // One result row: the positions in insertion order, which is the arrays' order
                // (the INSERT takes the unnest rows one by one; nextval gives each a higher
                // position), so sorting them by position is only a guarantee of that order.
                let returned = try connection.execute(
                    """
                    WITH locked AS (
                        SELECT k.key_id FROM subject_keys k WHERE k.key_id IN (SELECT unnest($8::uuid[])) FOR SHARE OF k
                    ), ins AS (
                        INSERT INTO events (event_id, tenant, stream, version, type, data, metadata)
                        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::json[], $7::json[])
                        WHERE (SELECT count(*) FROM locked) = $9
                        RETURNING position
                    )
                    SELECT array_agg(position ORDER BY position)::text, pg_current_xact_id()::text,
                           CASE WHEN count(*) > 0 THEN (SELECT pg_notify($10, $11)) IS NULL END
                      FROM ins
                    """,
                    Self.insertParameters(rows, neededKeys: needed)
                        + [
                            needed.count, configuration.notifyChannel,
                            EventNotification.payload(origin: notificationOrigin, types: types),
                        ])
                guard let list = returned[0, 0] else {  // a key was destroyed meanwhile: plan again
                    trustCache = false
                    continue
                }
                let positions = Self.parseInt64Array(list)
                guard positions.count == rows.count, let tx = returned[0, 1].flatMap({ UInt64($0) }) else {
                    throw PostgresError(code: .serverError)
                }
                for i in 0..<rows.count { inserted[i] = (positions[i], tx) }
                var written: [AppendPlanner.StreamKey: Int64] = [:]
                for r in rows {
                    let append = units[r.unit][r.streamIndex]
                    if append.expected != .noStream || append.remembersHead { written[r.key] = r.version }
                }
                withLock { headCache.record(written) }
            }

            // Rows come unit by unit, stream by stream, in order: one pass answers every unit.
            var cursor = 0
            var results: [Result<AppendResult, any Error>] = []
            results.reserveCapacity(outcomes.count)
            for (u, outcome) in outcomes.enumerated() {
                switch outcome {
                case .refused(let e): results.append(.failure(e))
                case .duplicate(let r): results.append(.success(r))
                case .duplicateOf(let earlier): results.append(results[earlier])
                case .insert:
                    var streams: [AppendedStream] = []
                    streams.reserveCapacity(units[u].count)
                    var last = Checkpoint.start
                    for (si, s) in units[u].enumerated() {
                        var positions: [Int64] = []
                        positions.reserveCapacity(s.events.count)
                        var lastVersion: Int64 = 0
                        while cursor < rows.count, rows[cursor].unit == u, rows[cursor].streamIndex == si {
                            let i = inserted[cursor]
                            positions.append(i.position)
                            last = max(last, Checkpoint(transactionID: i.tx, position: i.position))
                            lastVersion = rows[cursor].version
                            cursor += 1
                        }
                        streams.append(AppendedStream(stream: s.stream, positions: positions, lastVersion: lastVersion))
                    }
                    results.append(.success(AppendResult(streams: streams, wasDuplicate: false, checkpoint: last)))
                }
            }
            return results
        }
    }

    /// The elements of a bigint array's text form (`{1,2,3}`); what is not a digit or a minus
    /// sign separates elements.
    static func parseInt64Array(_ text: String) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(text.utf8.count / 4)
        var value: Int64 = 0
        var negative = false
        var inNumber = false
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = value &* 10 &+ Int64(b &- UInt8(ascii: "0"))
                inNumber = true
            case UInt8(ascii: "-"):
                negative = true
            default:
                if inNumber { out.append(negative ? -value : value) }
                value = 0
                negative = false
                inNumber = false
            }
        }
        if inNumber { out.append(negative ? -value : value) }
        return out
    }

    /// Parameters $1...$8 of the INSERT, as binary arrays: no text literal to build on this side
    /// and no `array_in` parsing on the server's.
    static func insertParameters(_ rows: [AppendPlanner.Row], neededKeys: Set<UUID>) -> [any PostgresEncodable] {
        var tenantBytes = 0
        var streamBytes = 0
        var typeBytes = 0
        var dataBytes = 0
        var metadataBytes = 0
        for r in rows {
            tenantBytes += r.tenant.utf8.count
            streamBytes += r.stream.utf8.count
            typeBytes += r.event.type.utf8.count
            dataBytes += r.event.dataBytes.count
            metadataBytes += r.event.metadataBytes.count
        }
        let n = rows.count
        var ids = PostgresBinaryArray(.uuid, reservingBytes: n * 20)
        var tenants = PostgresBinaryArray(.text, reservingBytes: n * 4 + tenantBytes)
        var streams = PostgresBinaryArray(.text, reservingBytes: n * 4 + streamBytes)
        var versions = PostgresBinaryArray(.int8, reservingBytes: n * 12)
        var types = PostgresBinaryArray(.text, reservingBytes: n * 4 + typeBytes)
        var data = PostgresBinaryArray(.json, reservingBytes: n * 4 + dataBytes)
        var metadata = PostgresBinaryArray(.json, reservingBytes: n * 4 + metadataBytes)
        for r in rows {
            ids.append(r.event.id)
            tenants.append(r.tenant)
            streams.append(r.stream)
            versions.append(r.version)
            types.append(r.event.type)
            data.append(utf8: r.event.dataBytes)
            metadata.append(utf8: r.event.metadataBytes)
        }
        var keys = PostgresBinaryArray(.uuid, reservingBytes: neededKeys.count * 20)
        for k in neededKeys { keys.append(k) }
        return [ids, tenants, streams, versions, types, data, metadata, keys]
    }
}
