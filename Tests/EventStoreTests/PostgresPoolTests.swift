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

