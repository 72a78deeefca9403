import JSON
import EventStore
import Foundation
import HTTP
import Postgres
import Service
import TestSupport
import Testing

/// A projection of one event type that applies nothing (only its checkpoint matters here).
final class OneTypeProjection: Projection {
    let name = "standby_one_type"
    let eventTypes: Set<String>? = ["thing.counted"]
    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {}
    func reset(on connection: PostgresConnection) throws {}
}

@Suite struct StandbyConsistencyTests {
    /// A replica whose runner stands by answers read-your-writes from the leader's stored
    /// checkpoint. The leader lets commits of other types wait before moving past them, so the
    /// standby also counts the checkpoint as caught up when none of its types lies between it
    /// and the token. Here the "leader" holds the lock and never moves: only that rule can
    /// answer the first wait, and nothing can answer the second.
    @Test func aStandbyCountsCommitsOfOtherTypesAsCaughtUp() async throws {
        let configuration = try TestServices.configuration()
        let app = ServiceApp(name: "standby-test", configuration: configuration)
        try await app.migrate(component: "standby-test", migrations: [])
        let name = OneTypeProjection().name
        let leader = try PostgresConnection(url: configuration.databaseURL)
        defer { leader.close() }
        #expect(try leader.execute("SELECT pg_try_advisory_lock($1)", [ProjectionRunner.lockKey(name)])[0].bool(0) == true)
        try leader.execute("INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING", [name])
        let runner = app.addProjection(OneTypeProjection())
        try app.start(router: Router(), port: 0)

        let other = try await app.store.append(
            StreamAppend(tenant: "t", stream: "s", events: [NewEvent(type: "thing.other", data: ["n": 1])]))
        try await app.waitForConsistency(other.checkpoint, timeout: .seconds(10))
        #expect(!runner.progress.isLeader)

        let counted = try await app.store.append(
            StreamAppend(tenant: "t", stream: "s", events: [NewEvent(type: "thing.counted", data: ["n": 2])]))
        await #expect(throws: HTTPError.self) {
            try await app.waitForConsistency(counted.checkpoint, timeout: .milliseconds(300))
        }
        await app.shutdown()
    }
}
