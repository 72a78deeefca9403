import Crypto
import EventStore
import Foundation
import IngestService
import JSON
import Postgres
import QueryService
import Service
import TestSupport
import Testing

/// A logical backup (`pg_dump --data-only` of `events`, `subject_keys` and `tenant_keys`)
/// restored into a database of another cluster: refused until adopted, then every projection
/// rebuilds from it and new events come after the restored ones.
@Suite struct RestoreTests {
    static let backupTables = ["events", "subject_keys", "tenant_keys"]

    /// The next transaction id a cluster will assign.
    static func nextTransactionID(_ c: PostgresConnection) throws -> UInt64 {
        UInt64(try c.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")[0][0] ?? "0") ?? 0
    }

    @Test func aDumpRestoredIntoAnotherClusterIsRefusedUntilAdoptedThenReadsAsBefore() async throws {
        let shared = ["MASTER_KEY": MasterKeyring.generateEntry(id: "restore")]
        // The new cluster, migrated (services started once on the empty database, as a deploy would).
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let target = try PostgresConnection(url: cluster.url)
        let empty = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: cluster.url, extra: shared), port: 0)
        await empty.shutdown()

        // The old database, in a cluster that has run more transactions than the new one.
        let source = try TestPostgres.makeDatabase()
        let s = try PostgresConnection(url: source)
        let behind = Int(try Self.nextTransactionID(target)) + 1_000 - Int(try Self.nextTransactionID(s))
        if behind > 0 {
            try s.execute(
                "CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1..n LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$")
            try s.execute("CALL burn($1)", [behind])
        }
        let ingest = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: source, extra: shared), port: 0)
        let query = try await QueryService.start(configuration: try TestServices.configuration(databaseURL: source, extra: shared), port: 0)
        let writer = TestHTTPClient(port: ingest.port, basicAuth: ("site1", "key1"))
        let reader = TestHTTPClient(port: query.port, basicAuth: ("site1", "key1"))
        for i in 0..<3 {
            let r = try await writer.send(
                "PUT", "/api/v1/customers/cust-\(i)", json: ["email": .string("c\(i)@example.com"), "plan": .string("p\(i)")])
            try #require(r.status == 200, "\(r.text)")
            let e = try await writer.send(
                "POST", "/api/v1/customers/cust-\(i)/events", json: ["name": "purchased", "data": ["n": .int(i)]])
            try #require(e.status == 200, "\(e.text)")
        }
        // What query answers once it has everything: each profile (with its email) and each
        // customer's events (with the purchase).
        var before: [String: String] = [:]
        for i in 0..<3 {
            for (path, mark) in [("/api/v1/customers/cust-\(i)", "c\(i)@example.com"), ("/api/v1/customers/cust-\(i)/events", "purchased")] {
                var last = ""
                let complete = try await eventually(timeout: .seconds(15)) {
                    let r = try await reader.send("GET", path)
                    last = r.text
                    return r.status == 200 && r.text.contains(mark)
                }
                try #require(complete, "\(path): \(last)")
                before[path] = last
            }
        }
        await query.shutdown()
        await ingest.shutdown()
        let restoredCount = try s.execute("SELECT count(*) FROM events")[0].int(0) ?? 0

        // Back up the three tables, restore them into the new cluster.
        let dump = NSTemporaryDirectory() + "restore-\(UUID().uuidString).dump"
        defer { try? FileManager.default.removeItem(atPath: dump) }
        try TestPostgresBinaries.run("pg_dump", ["--dbname=" + source, "--data-only", "--format=custom", "--file=" + dump] + Self.backupTables.map { "--table=" + $0 })
        try TestPostgresBinaries.run("pg_restore", ["--dbname=" + cluster.url, "--data-only", dump])
        #expect(try RestoredEvents.isFromAnotherCluster(on: target))

        // Refused at start, with the command to run.
        do {
            let refused = try await QueryService.start(configuration: try TestServices.configuration(databaseURL: cluster.url, extra: shared), port: 0)
            await refused.shutdown()
            Issue.record("query started on events from another cluster")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("--adopt-restored-events"), "\(error)")
        }

        #expect(try RestoredEvents.adopt(on: target) == restoredCount)
        #expect(try !RestoredEvents.isFromAnotherCluster(on: target))
        #expect(try RestoredEvents.adopt(on: target) == 0)

        // Query rebuilds every read from the restored events (personal data opened with the
        // restored keys), and a new event lands after them.
        let ingest2 = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: cluster.url, extra: shared), port: 0)
        let query2 = try await QueryService.start(configuration: try TestServices.configuration(databaseURL: cluster.url, extra: shared), port: 0)
        let writer2 = TestHTTPClient(port: ingest2.port, basicAuth: ("site1", "key1"))
        let reader2 = TestHTTPClient(port: query2.port, basicAuth: ("site1", "key1"))
        for (path, text) in before {
            var last = ""
            let same = try await eventually(timeout: .seconds(15)) {
                last = try await reader2.send("GET", path).text
                return last == text
            }
            #expect(same, "\(path): \(last) != \(text)")
        }
        let late = try await writer2.send("POST", "/api/v1/customers/cust-0/events", json: ["name": "returned", "data": [:]])
        try #require(late.status == 200, "\(late.text)")
        let events = try await eventually(timeout: .seconds(15)) {
            let t = try await reader2.send("GET", "/api/v1/customers/cust-0/events").text
            return t.contains("returned") && t.contains("purchased")
        }
        #expect(events, "the new event is read along with the restored one")
        let order = try target.execute(
            "SELECT bool_and(tx_id > '3'::xid8) FROM events WHERE position > (SELECT max(position) FROM events WHERE tx_id = '3'::xid8)")
        #expect(order[0].bool(0) == true, "new events come after the restored ones")
        await query2.shutdown()
        await ingest2.shutdown()
    }

    /// Once a projection has applied events, renumbering would make its checkpoint lie: refused.
    @Test func adoptionIsRefusedOnceProjectionsHaveRun() async throws {
        let url = try TestPostgres.makeDatabase()
        let ingest = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: url), port: 0)
        let query = try await QueryService.start(configuration: try TestServices.configuration(databaseURL: url), port: 0)
        let writer = TestHTTPClient(port: ingest.port, basicAuth: ("site1", "key1"))
        let r = try await writer.send("POST", "/api/v1/customers/cust-9/events", json: ["name": "purchased", "data": [:]])
        try #require(r.status == 200, "\(r.text)")
        let c = try PostgresConnection(url: url)
        #expect(await eventually(timeout: .seconds(15)) {
            (try? c.execute("SELECT count(*) FROM projection_checkpoints WHERE position > 0")[0].int(0) ?? 0) ?? 0 > 0
        })
        await query.shutdown()
        await ingest.shutdown()
        // An event from a cluster far ahead of this one.
        try c.execute(
            """
            INSERT INTO events (event_id, tenant, stream, version, type, data, metadata, tx_id)
            VALUES (gen_random_uuid(), 'site1', 'restored-1', 1, 'test.restored', '{}', '{}', '4000000000'::xid8)
            """)
        #expect(try RestoredEvents.isFromAnotherCluster(on: c))
        #expect(throws: RestoredEvents.Refusal.self) { try RestoredEvents.adopt(on: c) }
        #expect(try RestoredEvents.isFromAnotherCluster(on: c), "nothing changed")
    }
}
