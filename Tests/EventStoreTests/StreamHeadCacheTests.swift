@testable import EventStore
import Foundation
import JSON
import Testing

/// The appender's cached stream heads: a second store (another process) writes behind the first
/// one's back, so the first one's cache is stale; appends must still get the right versions,
/// expected-version checks must still be decided on the database's state, and repeated ids must
/// still be recognised.
@Suite struct StreamHeadCacheTests {
    @Test func cacheRecordsOnlyHigherHeadsAndStartsOverWhenFull() {
        var cache = StreamHeadCache(capacity: 3)
        let a = AppendPlanner.StreamKey(tenant: "t", stream: "a")
        let b = AppendPlanner.StreamKey(tenant: "t", stream: "b")
        cache.record([a: 0])
        #expect(cache[a] == 0)
        cache.record([a: 5])
        cache.record([a: 3])
        #expect(cache[a] == 5)
        cache.forget([a])
        #expect(cache[a] == nil)
        cache.record([a: 1, b: 1])
        cache.record([.init(tenant: "t", stream: "c"): 1, .init(tenant: "t", stream: "d"): 1])
        #expect(cache.count == 2)
        #expect(cache[a] == nil)
    }

    @Test func staleHeadsFromAnotherWriterAreCorrectedByTheDatabase() async throws {
        let first = try await makeStore(committers: 1)
        defer { first.shutdown() }
        let other = EventStore(configuration: .init(url: first.configuration.url))
        defer { other.shutdown() }

        try await first.append(StreamAppend(tenant: "t", stream: "s", events: [event()]))  // first caches head 1
        try await other.append(StreamAppend(tenant: "t", stream: "s", events: [event(), event()]))  // head is 3 now

        // Planned from the stale head (1) this would be version 2, which exists: re-planned to 4.
        let r = try await first.append(StreamAppend(tenant: "t", stream: "s", events: [event()]))
        #expect(r.streams[0].lastVersion == 4)

        try await other.append(StreamAppend(tenant: "t", stream: "s", events: [event()]))  // head 5
        // The cache says 4: `.exact(5)` must not be refused, `.exact(4)` must be.
        let exact = try await first.append(StreamAppend(tenant: "t", stream: "s", expected: .exact(5), events: [event()]))
        #expect(exact.streams[0].lastVersion == 6)
        try await other.append(StreamAppend(tenant: "t", stream: "s", events: [event()]))  // head 7
        await #expect(throws: AppendError.wrongExpectedVersion(stream: "s", expected: .exact(6), actual: 7)) {
            try await first.append(StreamAppend(tenant: "t", stream: "s", expected: .exact(6), events: [event()]))
        }

        // An id the other store wrote is a duplicate here too, though nothing was looked up first.
        let id = UUID()
        let original = try await other.append(StreamAppend(tenant: "t", stream: "s", events: [event(id: id)]))
        let again = try await first.append(StreamAppend(tenant: "t", stream: "s", events: [event(id: id)]))
        #expect(again.wasDuplicate)
        #expect(again.streams[0].positions == original.streams[0].positions)

        let versions = try await first.readStream(tenant: "t", stream: "s").map(\.version)
        #expect(versions == Array(1...8))
    }

    @Test func plannerTakesNoStreamStreamsAsNewOnlyWhenAsked() {
        let key = AppendPlanner.StreamKey(tenant: "t", stream: "s")
        let units = [[StreamAppend(tenant: "t", stream: "s", expected: .noStream, events: [event(), event()])]]
        let asked = AppendPlanner.plan(units: units, existing: [:], heads: [key: 5], newIfNoStream: true)
        #expect(asked.rows.map(\.version) == [1, 2])  // the database will refuse it
        let looked = AppendPlanner.plan(units: units, existing: [:], heads: [key: 5])
        #expect(looked.rows.isEmpty)
        #expect(AppendPlanner.streamKeys(AppendPlanner.keysByUnit(units), skippingNoStreamOf: units).isEmpty)
    }

    /// `.noStream` streams are assumed new without a lookup and not remembered: the database
    /// still refuses one that exists, whoever wrote it.
    @Test func noStreamAppendsAreDecidedByTheDatabaseWithoutALookup() async throws {
        let first = try await makeStore(committers: 1)
        defer { first.shutdown() }
        let other = EventStore(configuration: .init(url: first.configuration.url))
        defer { other.shutdown() }

        try await other.append(StreamAppend(tenant: "t", stream: "x", events: [event()]))
        await #expect(throws: AppendError.wrongExpectedVersion(stream: "x", expected: .noStream, actual: 1)) {
            try await first.append(StreamAppend(tenant: "t", stream: "x", expected: .noStream, events: [event()]))
        }
        let r = try await first.append(StreamAppend(tenant: "t", stream: "y", expected: .noStream, events: [event(), event()]))
        #expect(r.streams[0].lastVersion == 2)
        await #expect(throws: AppendError.wrongExpectedVersion(stream: "y", expected: .noStream, actual: 2)) {
            try await first.append(StreamAppend(tenant: "t", stream: "y", expected: .noStream, events: [event()]))
        }
        // Two `.noStream` appends of one stream in one group commit: the second is refused.
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    (try? await first.append(StreamAppend(tenant: "t", stream: "z", expected: .noStream, events: [event()]))) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try await first.readStream(tenant: "t", stream: "z").map(\.version) == [1])
    }

    /// Appends large enough to make a backlog bring in the second committer: both commit at
    /// once, collide on shared streams' versions, and still leave every stream dense.
    @Test func aBacklogOfLargeAppendsOnSharedStreamsKeepsVersionsDense() async throws {
        let store = try await makeStore(committers: 2)
        defer { store.shutdown() }
        let batchesBefore = store.appender.committed.batches
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.append(
                        (0..<4).map { s in StreamAppend(tenant: "t", stream: "shared-\(s)", events: (0..<150).map { _ in event() }) }
                            + (0..<300).map { _ in StreamAppend(tenant: "t", stream: "own-\(UUID())", expected: .noStream, events: [event()]) })
                }
            }
            try await group.waitForAll()
        }
        for s in 0..<4 {
            #expect(try await store.readStream(tenant: "t", stream: "shared-\(s)").map(\.version) == Array(1...1_200))
        }
        #expect(try await store.pool.execute("SELECT count(*) FROM events")[0].int(0) == 8 * 900)
        #expect(store.appender.committed.batches - batchesBefore >= 2)
    }

    @Test func manyAppendersOnFewStreamsKeepVersionsDense() async throws {
        let store = try await makeStore(committers: 2)
        defer { store.shutdown() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { try await store.append(StreamAppend(tenant: "t", stream: "s-\(i % 5)", events: [event()])) }
            }
            try await group.waitForAll()
        }
        for s in 0..<5 {
            #expect(try await store.readStream(tenant: "t", stream: "s-\(s)").map(\.version) == Array(1...40))
        }
    }
}
