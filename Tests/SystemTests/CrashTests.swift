import Crypto
import EventStore
import Foundation
import JSON
import Postgres
import TestSupport
import Testing

@Suite struct CrashTests {
    /// kill -9 of `ingest` under load, then a restart: every write that got a 2xx is in the table.
    @Test func killNineUnderLoadLosesNoAcknowledgedWrite() async throws {
        let url = try TestPostgres.makeDatabase()
        let port = TestPortAllocator.freePort()
        let env = [
            "DATABASE_URL": url, "PORT": String(port), "API_KEYS": "site1:key1", "LOG_LEVEL": "error",
            "MASTER_KEY": MasterKeyring.generateEntry(id: "crash1"),
        ]
        let pid = try RunningExecutable.spawn("ingest", environment: env)
        let client = TestHTTPClient(port: port, basicAuth: ("site1", "key1"))
        #expect(await eventually(timeout: .seconds(30)) { (try? await client.send("GET", "/healthz").status) == 200 })

        let acknowledged = LockedPositions()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        var i = 0
                        while !Task.isCancelled {
                            i += 1
                            guard let r = try? await client.send(
                                "POST", "/api/v1/customers/w\(worker)/events", form: [("name", "load"), ("data[i]", "\(i)")])
                            else { return }  // the server is gone
                            if r.status == 200, let t = r.header("X-Consistency-Token").flatMap(Checkpoint.init(token:)) {
                                acknowledged.add(t.position)
                            }
                        }
                    }
                }
            }
        }
        #expect(await eventually(timeout: FaultScale.seconds(30)) { acknowledged.count >= FaultScale.pick(200, long: 20_000) })
        kill(pid, SIGKILL)
        _ = await RunningExecutable.waitForExit(pid)
        load.cancel()
        await load.value

        let restarted = try RunningExecutable.spawn("ingest", environment: env)
        #expect(await eventually(timeout: .seconds(30)) { (try? await client.send("GET", "/healthz").status) == 200 })
        let positions = acknowledged.all
        let connection = try PostgresConnection(url: url)
        let found = try connection.execute(
            "SELECT count(*) FROM events WHERE position = ANY($1::bigint[]) AND type = 'customer.event_tracked'",
            [PostgresArray(positions)])
        #expect(found[0].int(0) == positions.count, "acknowledged \(positions.count), found \(found[0].int(0) ?? -1)")
        // Nothing half-written: every tracked event in the table is whole (its customer stream
        // has contiguous versions), and query projects every acknowledged one.
        let gaps = try connection.execute(
            """
            SELECT count(*) FROM (SELECT stream, max(version) - count(*) AS gap FROM events
                                  WHERE type = 'customer.event_tracked' GROUP BY tenant, stream) s WHERE gap <> 0
            """)
        #expect(gaps[0].int(0) == 0)
        let queryPort = TestPortAllocator.freePort()
        let query = try RunningExecutable.spawn(
            "query", environment: env.merging(["PORT": String(queryPort)]) { $1 })
        let last = try connection.execute("SELECT max(position) FROM events")[0].int64(0) ?? 0
        #expect(await eventually(timeout: FaultScale.seconds(60)) { (try? FaultTests.queryCheckpoint(connection)) == last })
        let projected = try connection.execute(
            "SELECT count(*) FROM query_customer_events WHERE position = ANY($1::bigint[])", [PostgresArray(positions)])
        #expect(projected[0].int(0) == positions.count, "query has \(projected[0].int(0) ?? -1) of \(positions.count)")
        for pid in [restarted, query] {
            kill(pid, SIGTERM)
            #expect(await RunningExecutable.waitForExit(pid) == 0)
        }
    }
}

final class LockedPositions: @unchecked Sendable {
    // @unchecked Sendable: `values` is only touched under `lock`.
    private let lock = NSLock()
    private var values: [Int64] = []
    func add(_ v: Int64) { lock.withLock { values.append(v) } }
    var count: Int { lock.withLock { values.count } }
    var all: [Int64] { lock.withLock { values } }
}
