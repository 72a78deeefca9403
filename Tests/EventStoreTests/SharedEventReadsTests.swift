@testable import EventStore
import Foundation
import JSON
import Postgres
import TestSupport
import Testing

@Suite struct SharedEventReadsTests {
    func recorded(_ position: Int64) -> RecordedEvent {
        RecordedEvent(
            position: position, id: UUID(), tenant: "t", stream: "s", version: position, type: "x", data: .null,
            metadata: .null, transactionID: 1, recordedAt: 0)
    }

    @Test func runnersAtOneCheckpointShareOneBatchWhileItIsReadAndAfter() throws {
        let reads = SharedEventReads()
        let at = Checkpoint(transactionID: 1, position: 5)
        let (first, firstIsNew) = reads.batch(after: at, limit: 10)
        let (second, secondIsNew) = reads.batch(after: at, limit: 10)
        #expect(firstIsNew && !secondIsNew && first === second)
        first.finish(.success([recorded(6), recorded(7)]))
        #expect(try second.events().map(\.position) == [6, 7])
        #expect(try first.events().map(\.position) == [6, 7])  // every waiter gets it
        #expect(reads.batch(after: at, limit: 10).batch === first)
        // Another limit or checkpoint is another read.
        #expect(reads.batch(after: at, limit: 1).isNew)
        #expect(reads.batch(after: Checkpoint(transactionID: 1, position: 7), limit: 10).isNew)
        #expect(reads.readsClaimed == 3)
    }

    @Test func anEmptyOrFailedReadIsNotShared() {
        let reads = SharedEventReads()
        let empty = reads.batch(after: .start, limit: 10).batch
        empty.finish(.success([]))
        let again = reads.batch(after: .start, limit: 10)
        #expect(again.isNew && again.batch !== empty)
        struct Down: Error {}
        again.batch.finish(.failure(Down()))
        #expect(throws: Down.self) { try again.batch.events() }
        #expect(reads.batch(after: .start, limit: 10).isNew)
    }

    @Test func onlyTheNewestBatchesAreKept() {
        let reads = SharedEventReads(capacity: 2)
        let a = reads.batch(after: Checkpoint(transactionID: 1, position: 1), limit: 10).batch
        _ = reads.batch(after: Checkpoint(transactionID: 1, position: 2), limit: 10)
        _ = reads.batch(after: Checkpoint(transactionID: 1, position: 3), limit: 10)
        let again = reads.batch(after: Checkpoint(transactionID: 1, position: 1), limit: 10)
        #expect(again.isNew && again.batch !== a)
    }

    @Test func sharedReadsCarryTheDataOfEveryRegisteredType() {
        let reads = SharedEventReads()
        reads.register(types: ["a"])
        reads.register(types: ["b"])
        #expect(reads.types == ["a", "b"])
        reads.register(types: nil)
        #expect(reads.types == nil)
    }

    /// Four projections catching up on the same events read them together: fewer reads than
    /// four runners reading alone, and each applies every event exactly once.
    @Test func runnersOfOneStoreShareTheirReadsAndEachAppliesEverythingOnce() async throws {
        let store = try await makeStore()
        try await store.pool.execute("CREATE TABLE IF NOT EXISTS applied (event_id uuid, projection text)")
        let events = (0..<200).map { event("thing_happened", ["n": .int($0)]) }
        try await store.append(StreamAppend(tenant: "t", stream: "bulk", events: events))
        let projections = (0..<4).map { CountingProjection(name: "shared-read-\($0)") }
        let runners = projections.map { store.runner(for: $0, batchSize: 10) }
        for r in runners { r.start() }
        let last = try await store.pool.execute("SELECT max(position) FROM events")[0].int64(0) ?? 0
        #expect(await eventually(timeout: .seconds(30)) { runners.allSatisfy { $0.progress.checkpoint.position == last } })
        for p in projections {
            let r = try await store.pool.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM applied WHERE projection = $1", [p.name])
            #expect(r[0].int(0) == 200 && r[0].int(1) == 200)
        }
        // Alone, each runner would read its 20 batches: 80 reads that find events (about 22 when
        // shared; a runner that falls more than `capacity` batches behind reads alone). Reads
        // that find nothing are the caught-up runners' polls, more of them the slower the
        // machine, so they are not counted.
        let withEvents = store.reads.readsClaimed - store.reads.emptyReadsClaimed
        #expect(withEvents < 40, "\(withEvents) reads found events")
        for r in runners { r.stop() }
        store.shutdown()
    }
}
