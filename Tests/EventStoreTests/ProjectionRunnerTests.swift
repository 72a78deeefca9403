import EventStore
import Foundation
import JSON
import Postgres
import Synchronization
import TestSupport
import Testing

/// Counts events into a table; can be told to fail (a crash between apply and checkpoint) or to
/// have its connection killed mid-transaction.
final class CountingProjection: Projection {
    let name: String
    let failuresLeft = Atomic<Int>(0)
    let killNext = Atomic<Bool>(false)

    init(name: String) { self.name = name }

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS applied (event_id uuid, projection text)")
        for e in events {
            try connection.execute("INSERT INTO applied VALUES ($1, $2)", [e.id, name])
        }
        // The rows are written; now "crash" before the checkpoint moves.
        if failuresLeft.load(ordering: .relaxed) > 0 {
            failuresLeft.subtract(1, ordering: .relaxed)
            struct Crash: Error {}
            throw Crash()
        }
        if killNext.exchange(false, ordering: .relaxed) {
            _ = try? connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS applied (event_id uuid, projection text)")
        try connection.execute("DELETE FROM applied WHERE projection = $1", [name])
    }
}

/// Fails on one event, every time.
final class PoisonProjection: Projection {
    let name = "poison"
    let poison: UUID
    init(poison: UUID) { self.poison = poison }
    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS applied (event_id uuid, projection text)")
        for e in events {
            struct Poisoned: Error {}
            if e.id == poison { throw Poisoned() }
            try connection.execute("INSERT INTO applied VALUES ($1, $2)", [e.id, name])
        }
    }
    func reset(on connection: PostgresConnection) throws {}
}

/// Records the events it is handed; acts on `wanted` only.
final class TypedProjection: Projection {
    let name = "typed"
    let eventTypes: Set<String>? = ["wanted"]
    let seen = Mutex<[RecordedEvent]>([])
    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        seen.withLock { $0 += events }
    }
    func reset(on connection: PostgresConnection) throws {}
}

@Suite struct ProjectionRunnerTests {
    @Test func aTypedProjectionGetsItsTypesWithTheirDataAndTheCheckpointPassesTheOthers() async throws {
        let store = try await makeStore()
        let projection = TypedProjection()
        let runner = store.runner(for: projection, batchSize: 3)
        runner.start()
        for i in 0..<10 {
            try await store.append(StreamAppend(tenant: "t", stream: "s\(i)", events: [event(i % 4 == 0 ? "wanted" : "other", ["n": .int(i)])]))
        }
        let last = try await store.pool.execute("SELECT max(position) FROM events")[0].int64(0) ?? 0
        #expect(await eventually(timeout: .seconds(30)) { runner.progress.checkpoint.position == last })
        let seen = projection.seen.withLock { $0 }
        #expect(seen.map(\.stream) == ["s0", "s4", "s8"])
        #expect(seen.map { $0.data["n"]?.intValue } == [0, 4, 8])
        #expect(seen.allSatisfy { $0.type == "wanted" && $0.metadata["request_id"] == "r1" })
        // The stored checkpoint moved too (standby replicas follow it).
        let stored = try await store.pool.execute("SELECT position FROM projection_checkpoints WHERE name = 'typed'")
        #expect(stored[0].int64(0) == last)
        // And the reader without types still returns every event with its data.
        let all = try await store.pool.withConnection { try EventReader.read(after: .start, limit: 100, on: $0) }
        #expect(all.count == 10 && all.allSatisfy { $0.data["n"] != nil })
        let typed = try await store.pool.withConnection { try EventReader.read(after: .start, limit: 100, types: ["wanted"], on: $0) }
        #expect(typed.map(\.id) == all.map(\.id))
        #expect(typed.filter { $0.data != .null }.count == 3)
        runner.stop()
        store.shutdown()
    }

    func appliedCounts(_ store: EventStore, _ name: String) async throws -> (rows: Int, distinct: Int) {
        let r = try await store.pool.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM applied WHERE projection = $1", [name])
        return (r[0].int(0) ?? 0, r[0].int(1) ?? 0)
    }

    @Test func crashBetweenApplyAndCheckpointNeverDoubleApplies() async throws {
        let store = try await makeStore()
        let projection = CountingProjection(name: "counting")
        projection.failuresLeft.store(3, ordering: .relaxed)
        let runner = store.runner(for: projection, batchSize: 10)
        runner.start()
        for i in 0..<50 { try await store.append(StreamAppend(tenant: "t", stream: "s\(i % 5)", events: [event()])) }
        let done = await eventually(timeout: .seconds(30)) {
            (try? await appliedCounts(store, "counting").rows) == 50
        }
        #expect(done)
        // Let it settle, then check nothing was applied twice.
        let last = try await store.pool.execute("SELECT max(position) FROM events")[0].int64(0) ?? 0
        _ = await eventually { runner.progress.checkpoint.position == last }
        let counts = try await appliedCounts(store, "counting")
        #expect(counts.rows == 50)
        #expect(counts.distinct == 50)
        // A killed connection mid-transaction also rolls back and resumes exactly once.
        projection.killNext.store(true, ordering: .relaxed)
        for _ in 0..<20 { try await store.append(StreamAppend(tenant: "t", stream: "k", events: [event()])) }
        #expect(await eventually(timeout: .seconds(30)) { (try? await appliedCounts(store, "counting").rows) == 70 })
        let after = try await appliedCounts(store, "counting")
        #expect(after.rows == 70 && after.distinct == 70)
        runner.stop()
        store.shutdown()
    }

    @Test func oneRunnerLeadsAndTheStandbyTakesOver() async throws {
        let store = try await makeStore()
        let a = store.runner(for: CountingProjection(name: "shared"))
        let b = store.runner(for: CountingProjection(name: "shared"))
        a.start()
        b.start()
        for i in 0..<10 { try await store.append(StreamAppend(tenant: "t", stream: "x\(i)", events: [event()])) }
        #expect(await eventually { (try? await appliedCounts(store, "shared").rows) == 10 })
        #expect(await eventually { a.progress.isLeader != b.progress.isLeader })
        let (leader, standby) = a.progress.isLeader ? (a, b) : (b, a)
        leader.stop()
        #expect(await eventually(timeout: .seconds(10)) { standby.progress.isLeader })
        for i in 0..<10 { try await store.append(StreamAppend(tenant: "t", stream: "y\(i)", events: [event()])) }
        #expect(await eventually { (try? await appliedCounts(store, "shared").rows) == 20 })
        #expect(try await appliedCounts(store, "shared").distinct == 20)
        standby.stop()
        store.shutdown()
    }

    @Test func aPoisonEventIsSetAsideAndTheProjectionStaysLive() async throws {
        let store = try await makeStore()
        let poison = UUID()
        let runner = store.runner(for: PoisonProjection(poison: poison))
        runner.start()
        try await store.append(StreamAppend(tenant: "t", stream: "a", events: [event()]))
        try await store.append(StreamAppend(tenant: "t", stream: "p", events: [event(id: poison)]))
        for i in 0..<5 { try await store.append(StreamAppend(tenant: "t", stream: "b\(i)", events: [event()])) }
        #expect(await eventually(timeout: .seconds(30)) { runner.progress.appliedEvents >= 7 && runner.progress.isCaughtUp })
        let failures = try await store.pool.execute("SELECT event_id, error FROM projection_failures WHERE name = 'poison'")
        #expect(failures.count == 1)
        #expect(failures[0][0] == poison.uuidString.lowercased())
        #expect(runner.progress.skippedEvents == 1)
        #expect(try await appliedCounts(store, "poison").rows == 6)
        runner.stop()
        store.shutdown()
    }

    /// A read-your-writes wait ends when the runner applies the event (it is woken, not
    /// polling), and gives up at its timeout on a checkpoint the runner never reaches.
    @Test func aWaitEndsWhenTheEventIsAppliedOrAtItsTimeout() async throws {
        let store = try await makeStore()
        defer { store.shutdown() }
        let runner = store.runner(for: CountingProjection(name: "waited"))
        let written = try await store.append(StreamAppend(tenant: "t", stream: "w", events: [event()]))
        // The wait starts before the runner does.
        async let applied = runner.progress.wait(for: written.checkpoint, timeout: .seconds(30))
        runner.start()
        defer { runner.stop() }
        #expect(await applied)
        #expect(runner.progress.checkpoint >= written.checkpoint)
        #expect(try await appliedCounts(store, "waited").rows == 1)
        let never = Checkpoint(transactionID: written.checkpoint.transactionID + 1_000_000, position: 0)
        #expect(await runner.progress.wait(for: never, timeout: .milliseconds(200)) == false)
    }

    @Test func rebuildReplaysFromZero() async throws {
        let store = try await makeStore()
        let runner = store.runner(for: CountingProjection(name: "rebuilt"))
        runner.start()
        for i in 0..<15 { try await store.append(StreamAppend(tenant: "t", stream: "r\(i)", events: [event()])) }
        #expect(await eventually { (try? await appliedCounts(store, "rebuilt").rows) == 15 })
        runner.requestRebuild()
        #expect(await eventually { runner.progress.appliedEvents >= 30 })
        let counts = try await appliedCounts(store, "rebuilt")
        #expect(counts.rows == 15 && counts.distinct == 15)
        runner.stop()
        store.shutdown()
    }
}
