@testable import EventStore
import Foundation
import JSON
import Postgres
import TestSupport
import ThreadSupport
import Testing

/// Opens a store on a fresh database with the schema applied.
func makeStore(committers: Int = 2) async throws -> EventStore {
    var c = EventStore.Configuration(url: try TestPostgres.makeDatabase())
    c.committers = committers
    let store = EventStore(configuration: c)
    try await store.migrate()
    return store
}

/// Reads everything up to and including `checkpoint`, polling: an open transaction anywhere in
/// the cluster (other tests run in parallel) holds readers back until it ends.
func readUntil(_ store: EventStore, _ checkpoint: Checkpoint) async throws -> [RecordedEvent] {
    let deadline = ContinuousClock.now + .seconds(20)
    var out: [RecordedEvent] = []
    var at = Checkpoint.start
    while ContinuousClock.now < deadline {
        let batch = try await store.read(after: at, limit: 500)
        out += batch
        if let last = batch.last { at = last.checkpoint }
        if at >= checkpoint { return out }
        if batch.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
    }
    return out
}

func event(_ type: String = "thing_happened", _ data: JSON = ["n": 1], id: UUID = UUID()) -> NewEvent {
    NewEvent(id: id, type: type, data: data, metadata: ["request_id": "r1"])
}

@Suite struct AppendAndReadTests {
    @Test func roundTrip() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        let data: JSON = ["price": .number("23.45"), "text": "23.45", "quote": "it's \"x\" \\ 100% _"]
        let r = try await store.append(StreamAppend(tenant: "t1", stream: "s-1", events: [event("a", data), event("b")]))
        #expect(r.streams[0].positions.count == 2)
        #expect(r.streams[0].lastVersion == 2)
        #expect(!r.wasDuplicate)
        let stream = try await store.readStream(tenant: "t1", stream: "s-1")
        #expect(stream.map(\.type) == ["a", "b"])
        #expect(stream.map(\.version) == [1, 2])
        #expect(stream[0].data == data)
        #expect(stream[0].metadata["request_id"] == "r1")
        let all = try await readUntil(store, r.checkpoint)
        #expect(all.count == 2)
        #expect(all.last?.checkpoint == r.checkpoint)
    }

    /// Concurrent appends go into group commits together (with a backlog, on both committers):
    /// every reported position is the one the database gave that very event.
    @Test func reportedPositionsAreTheEventsOwn() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        let appends: [[StreamAppend]] = (0..<6).map { u in
            (0..<3).map { s in
                StreamAppend(tenant: "t", stream: "u\(u)-s\(s)", events: (0..<(100 + 50 * s)).map { _ in event() })
            }
        }
        let results = try await withThrowingTaskGroup(of: ([StreamAppend], AppendResult).self) { group in
            for unit in appends { group.addTask { (unit, try await store.append(unit)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let rows = try await store.pool.execute("SELECT event_id::text, position FROM events")
        var positionOf: [UUID: Int64] = [:]
        for r in rows.rows { positionOf[UUID(uuidString: r[0]!)!] = r.int64(1) }
        for (unit, result) in results {
            for (s, appended) in zip(unit, result.streams) {
                #expect(appended.positions == s.events.map { positionOf[$0.id] ?? -1 })
            }
            #expect(result.checkpoint.position == result.streams.flatMap(\.positions).max())
        }
    }

    @Test func int64ArrayTextParses() {
        #expect(EventAppender.parseInt64Array("{1,22,-3,4000000000000}") == [1, 22, -3, 4_000_000_000_000])
        #expect(EventAppender.parseInt64Array("{}").isEmpty)
        #expect(EventAppender.parseInt64Array("{7}") == [7])
    }

    @Test func appendingTheSameIdTwiceIsANoOpReportingTheOriginal() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        let id = UUID()
        let first = try await store.append(StreamAppend(tenant: "t", stream: "s", events: [event(id: id)]))
        let second = try await store.append(StreamAppend(tenant: "t", stream: "s", events: [event(id: id)]))
        #expect(second.wasDuplicate)
        #expect(second.streams[0].positions == first.streams[0].positions)
        #expect(try await readUntil(store, first.checkpoint).count == 1)
    }

    @Test func expectedVersionConflictIsADistinctError() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        try await store.append(StreamAppend(tenant: "t", stream: "s", expected: .noStream, events: [event()]))
        await #expect(throws: AppendError.wrongExpectedVersion(stream: "s", expected: .noStream, actual: 1)) {
            try await store.append(StreamAppend(tenant: "t", stream: "s", expected: .noStream, events: [event()]))
        }
        await #expect(throws: AppendError.self) {
            try await store.append(StreamAppend(tenant: "t", stream: "s", expected: .exact(5), events: [event()]))
        }
        let ok = try await store.append(StreamAppend(tenant: "t", stream: "s", expected: .exact(1), events: [event()]))
        #expect(ok.streams[0].lastVersion == 2)
        #expect(try await store.readStream(tenant: "t", stream: "s").count == 2)
    }

    /// A new stream created with `remembersHead` is appended to next from the remembered head;
    /// when another writer moved the stream meanwhile, the stale head is noticed and the
    /// expectation judged against the table.
    @Test func aRememberedHeadOfANewStreamServesTheNextAppendAndAStaleOneIsCaught() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        let created = try await store.append(
            StreamAppend(tenant: "t", stream: "m", expected: .noStream, events: [event()], remembersHead: true))
        #expect(created.streams[0].lastVersion == 1)
        let next = try await store.append(StreamAppend(tenant: "t", stream: "m", expected: .exact(1), events: [event()]))
        #expect(next.streams[0].lastVersion == 2)
        // Another writer (its own appender) appends version 3 behind this appender's back.
        let other = EventAppender(configuration: .init(url: store.configuration.url))
        defer { other.shutdown() }
        try await other.append([StreamAppend(tenant: "t", stream: "m", expected: .exact(2), events: [event()])])
        await #expect(throws: AppendError.wrongExpectedVersion(stream: "m", expected: .exact(2), actual: 3)) {
            try await store.append(StreamAppend(tenant: "t", stream: "m", expected: .exact(2), events: [event()]))
        }
        let last = try await store.append(StreamAppend(tenant: "t", stream: "m", expected: .exact(3), events: [event()]))
        #expect(last.streams[0].lastVersion == 4)
        // Creating it again is refused whatever the cache says.
        await #expect(throws: AppendError.wrongExpectedVersion(stream: "m", expected: .noStream, actual: 4)) {
            try await store.append(
                StreamAppend(tenant: "t", stream: "m", expected: .noStream, events: [event()], remembersHead: true))
        }
        #expect(try await store.readStream(tenant: "t", stream: "m").map(\.version) == [1, 2, 3, 4])
    }

    /// `appendEach`: every unit on its own, answered in order; a refused one spoils no other.
    @Test func appendEachAnswersEveryUnitOnItsOwnInOrder() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        try await store.append(StreamAppend(tenant: "t", stream: "a", events: [event()]))
        let results = await store.appendEach([
            [StreamAppend(tenant: "t", stream: "a", expected: .exact(1), events: [event()])],
            [StreamAppend(tenant: "t", stream: "a", expected: .exact(1), events: [event()])],  // a@2 is taken by the first
            [],
            [StreamAppend(tenant: "t", stream: "b", expected: .noStream, events: [event(), event()])],
        ])
        #expect(results.count == 4)
        #expect((try? results[0].get())?.streams.first?.lastVersion == 2)
        #expect(throws: AppendError.wrongExpectedVersion(stream: "a", expected: .exact(1), actual: 2)) { try results[1].get() }
        #expect(throws: AppendError.self) { try results[2].get() }
        #expect((try? results[3].get())?.streams.first?.lastVersion == 2)
        #expect(try await store.readStream(tenant: "t", stream: "a").count == 2)
        #expect(await store.appendEach([]).isEmpty)
    }

    /// A thread named with `nameCurrentThread` shows that name to the kernel (top, perf).
    @Test func aNamedThreadShowsItsNameToTheKernel() async throws {
        let name = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            Thread {
                nameCurrentThread("projection-delivery_outbox")
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                continuation.resume(returning: comm.trimmingCharacters(in: .whitespacesAndNewlines))
            }.start()
        }
        #expect(name == "delivery_outbox")  // the last 15 bytes
    }

    /// The calling thread's scheduling slice in nanoseconds, as /proc shows it (Linux 6.12 and
    /// later; nil before).
    static func currentSlice() -> Int? {
        let text = (try? String(contentsOfFile: "/proc/thread-self/sched", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("se.slice") }
        return line.flatMap { $0.split(separator: ":").last }.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// `preferShortSchedulingSlices` sets the calling thread's slice, once per thread, and
    /// leaves other threads alone.
    @Test(.enabled(if: currentSlice() != nil, "the kernel shows no scheduling slice"))
    func aThreadCanAskForShortSchedulingSlices() async throws {
        let (before, after) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int?, Int?), Never>) in
            Thread {
                let before = Self.currentSlice()
                preferShortSchedulingSlices(nanoseconds: 200_000)
                preferShortSchedulingSlices(nanoseconds: 300_000)  // once per thread: ignored
                continuation.resume(returning: (before, Self.currentSlice()))
            }.start()
        }
        #expect(before != 200_000)
        #expect(after == 200_000)
        let untouched = await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
            Thread { continuation.resume(returning: Self.currentSlice()) }.start()
        }
        #expect(untouched == before)
    }

    @Test func concurrentExpectedVersionAppendsLetExactlyOneWin() async throws {
        let store = try await makeStore(committers: 2)
        defer { store.shutdown() }
        try await store.append(StreamAppend(tenant: "t", stream: "s", events: [event()]))
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    (try? await store.append(StreamAppend(tenant: "t", stream: "s", expected: .exact(1), events: [event()]))) != nil
                }
            }
            var wins = 0
            for await ok in group where ok { wins += 1 }
            return wins
        }
        #expect(outcomes == 1)
        #expect(try await store.readStream(tenant: "t", stream: "s").count == 2)
    }

    @Test func atomicAppendAcrossStreamsIsAllOrNothing() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        try await store.append(StreamAppend(tenant: "t", stream: "b", events: [event()]))
        await #expect(throws: AppendError.self) {
            try await store.append([
                StreamAppend(tenant: "t", stream: "a", events: [event()]),
                StreamAppend(tenant: "t", stream: "b", expected: .noStream, events: [event()]),
            ])
        }
        #expect(try await store.readStream(tenant: "t", stream: "a").isEmpty)
    }

    @Test func tableRefusesUpdateDeleteAndTruncate() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        let r = try await store.append(StreamAppend(tenant: "t", stream: "s", events: [event()]))
        for sql in ["UPDATE events SET type = 'x'", "DELETE FROM events", "TRUNCATE events"] {
            await #expect(throws: PostgresError.self) { try await store.pool.execute(sql) }
        }
        #expect(try await readUntil(store, r.checkpoint).first?.type == "thing_happened")
    }

    @Test func groupCommitCoalescesConcurrentAppends() async throws {
        let store = try await makeStore(committers: 1)
        defer { store.shutdown() }
        let n = 400
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<n {
                group.addTask { try await store.append(StreamAppend(tenant: "t", stream: "s-\(i)", events: [event()])) }
            }
            try await group.waitForAll()
        }
        let transactions = try await store.pool.execute("SELECT count(DISTINCT tx_id) FROM events")[0].int(0) ?? 0
        #expect(try await store.pool.execute("SELECT count(*) FROM events")[0].int(0) == n)
        #expect(store.appender.committed.events == n)
        // Far fewer transactions than appends.
        #expect(transactions < n / 4, "\(transactions) transactions for \(n) appends")
    }

    @Test func migrationsAreIdempotentAcrossConcurrentStarts() async throws {
        let url = try TestPostgres.makeDatabase()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let s = EventStore(configuration: .init(url: url))
                    defer { s.shutdown() }
                    try await s.migrate()
                }
            }
            try await group.waitForAll()
        }
        let c = try PostgresConnection(url: url)
        #expect(try c.execute("SELECT count(*) FROM schema_migrations")[0].int(0) == EventStoreSchema.migrations.count)
    }
}

@Suite struct OrderedReadingTests {
    /// Many writers, some holding their transaction open after taking a position, one tailing
    /// reader: every event is seen exactly once, and the order is stable (the same on a re-read).
    @Test func concurrentWritersWithDelayedCommitsNeverSkip() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        let url = store.configuration.url
        let writers = 6
        let perWriter = 25
        let expected = writers * perWriter + 40
        let done = ManagedAtomicFlag()

        // Slow writers: insert directly, then sleep before COMMIT, so later positions commit first.
        let slow = Task.detached {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        let c = try PostgresConnection(url: url)
                        for i in 0..<perWriter {
                            try c.transaction {
                                try c.execute(
                                    "INSERT INTO events (event_id, tenant, stream, version, type, data, metadata) VALUES ($1, 't', $2, 1, 'slow', '{}', '{}')",
                                    [UUID(), "slow-\(w)-\(i)"])
                                usleep(UInt32.random(in: 0...8000))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Fast writers through the appender at the same time.
        let fast = Task {
            for i in 0..<40 { try await store.append(StreamAppend(tenant: "t", stream: "fast-\(i)", events: [event()])) }
        }
        // Tailing reader.
        var seen: [Int64] = []
        var trace: [String] = []
        var checkpoint = Checkpoint.start
        let deadline = Date().addingTimeInterval(60)
        while seen.count < expected && Date() < deadline {
            let batch = try await store.read(after: checkpoint, limit: 7)
            if !batch.isEmpty { trace.append("after \(checkpoint) -> " + batch.map { "\($0.position)@\($0.transactionID)" }.joined(separator: ",")) }
            for e in batch { seen.append(e.position) }
            if let last = batch.last { checkpoint = last.checkpoint } else { try await Task.sleep(for: .milliseconds(1)) }
        }
        try await slow.value
        try await fast.value
        done.set()
        // Drain whatever is left, then compare with the table.
        while true {
            let batch = try await store.read(after: checkpoint, limit: 100)
            if batch.isEmpty { break }
            for e in batch { seen.append(e.position) }
            checkpoint = batch.last!.checkpoint
        }
        #expect(seen.count == expected)
        #expect(Set(seen).count == seen.count, "an event was seen twice")
        let all = try await store.pool.execute("SELECT position FROM events ORDER BY tx_id, position").rows.compactMap { $0.int64(0) }
        #expect(seen == all, "reader order differs from commit order")
        if seen != all {
            let dump = try await store.pool.execute("SELECT position, tx_id::text, type FROM events ORDER BY position")
            print("TRACE", trace.prefix(12).joined(separator: " | "))
            print("DUMP", dump.rows.map { "\($0[0] ?? "")@\($0[1] ?? "")" }.joined(separator: " "))
        }
    }

    /// The newest checkpoint is the greatest (transaction id, position) as numbers. Transaction
    /// ids that cross a power of ten ("999" → "1000") sorted as text put the older one first: the
    /// rebuild then reported done after 6 of 13 events (1 run in 8 of QueryTests, whenever the
    /// cluster's xids crossed 1000 between a test's events). Rows written with chosen ids.
    @Test func newestCheckpointComparesTransactionIDsAsNumbers() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        #expect(try await store.newestCheckpoint() == .start)
        for txID in ["1000", "999"] {
            try await store.pool.execute(
                """
                INSERT INTO events (event_id, tenant, stream, version, type, data, metadata, tx_id)
                VALUES (gen_random_uuid(), 't', 's-' || $1, 1, 'thing_happened', '{}', '{}', $1::xid8)
                """, [txID])
        }
        // "999" at position 2 is both the later position and the greater text: only numeric
        // comparison of the transaction ids picks the row at position 1.
        #expect(try await store.newestCheckpoint() == Checkpoint(transactionID: 1000, position: 1))
    }
}

/// A tiny flag for tests.
final class ManagedAtomicFlag: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

@Suite struct NotificationOriginTests {
    /// A store's own commits wake its readers directly, so its listener skips their NOTIFY (each
    /// commit used to wake every projection runner twice); another writer's NOTIFY wakes them.
    @Test func aStoreSkipsItsOwnNotificationsAndWakesOnOthers() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        // The listener signals once when it has connected.
        #expect(await eventually { store.notifier.current >= 1 })
        let before = store.notifier.current
        let c = try PostgresConnection(url: store.configuration.url)
        defer { c.close() }
        // Delivered in this order: once the second has woken the notifier, the first was seen.
        try c.execute("SELECT pg_notify('events', $1)", [store.appender.notificationOrigin])
        try c.execute("SELECT pg_notify('events', 'another-writer')")
        #expect(await eventually { store.notifier.current > before })
        #expect(store.notifier.current == before + 1)

        // A commit of its own wakes the readers once, through the commit itself.
        let atCommit = store.notifier.current
        try await store.append(StreamAppend(tenant: "t", stream: "s", events: [event()]))
        try c.execute("SELECT pg_notify('events', 'another-writer')")
        #expect(await eventually { store.notifier.current >= atCommit + 2 })
        #expect(store.notifier.current == atCommit + 2)
    }
}
