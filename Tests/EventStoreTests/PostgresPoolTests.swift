@testable import EventStore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct PostgresPoolTests {
    /// A backend that ends while its connection is idle in the pool (a restart, a failover,
    /// `pg_terminate_backend`) costs the next job nothing: the pool sees the closed socket when it
    /// hands the connection out and reconnects first, instead of failing that job.
    @Test func aConnectionTheServerClosedWhileIdleIsReplacedBeforeTheNextJob() async throws {
        let url = try TestPostgres.makeDatabase()
        let pool = PostgresPool(configuration: PostgresPool.Configuration(url: url, size: 1))
        defer { pool.shutdown() }
        let first = try #require(try await pool.execute("SELECT pg_backend_pid()")[0].int(0))
        let admin = try PostgresConnection(url: url)
        defer { admin.close() }
        try admin.execute("SELECT pg_terminate_backend($1)", [first])
        #expect(
            try await eventually {
                try admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [first])[0].int(0) == 0
            })
        let second = try await pool.execute("SELECT pg_backend_pid()")[0].int(0)
        #expect(second != nil && second != first)
    }
}


@Suite struct ServerEndedSessionsTests {
    /// Every session of the database ends while idle, as in a PostgreSQL restart or failover:
    /// the next append and the next pooled read succeed at once, on new connections, instead of
    /// each of them failing once on a dead one.
    @Test func appendsAndReadsAfterTheServerEndedEverySessionDoNotFail() async throws {
        let store = try await makeStore(committers: 1)
        defer { store.shutdown() }
        _ = try await store.append(StreamAppend(tenant: "t", stream: "s-1", events: [event()]))
        let database = String(store.configuration.url.split(separator: "/").last ?? "")
        let admin = try PostgresConnection(url: try TestPostgres.adminURL())
        defer { admin.close() }
        let others = "datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        let sessions = try admin.execute("SELECT pid FROM pg_stat_activity WHERE \(others)", [database]).rows.compactMap { $0.int(0) }
        #expect(sessions.count >= 2, "the pool's, the committer's and the listener's sessions")
        try admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [PostgresArray(sessions)])
        // Until every one of them has gone (the listener reconnects by itself meanwhile, so the
        // database's session count is not the measure).
        #expect(
            try await eventually {
                try admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", [PostgresArray(sessions)])[0]
                    .int(0) == 0
            })
        let appended = try await store.append(StreamAppend(tenant: "t", stream: "s-2", events: [event()]))
        #expect(appended.checkpoint.position > 0)
        #expect(try await store.read(after: .start, limit: 10).count == 2)
    }
}
