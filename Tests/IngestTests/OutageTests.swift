import EventStore
import Foundation
import IngestService
import JSON
import TestSupport
import Testing

@Suite struct DatabaseOutageTests {
    /// The database goes away: writes get 503 with a clear error and nothing acknowledged is lost;
    /// when it is back, the service recovers by itself.
    @Test func outageGives503AndRecoveryLosesNothing() async throws {
        let cluster = try PrivateCluster()
        defer { cluster.destroy() }
        let app = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: cluster.url), port: 0)
        let client = TestHTTPClient(port: app.port, basicAuth: ("site1", "key1"))
        var acknowledged = 0
        for i in 0..<5 {
            let r = try await client.send("POST", "/api/v1/customers/c\(i)/events", form: [("name", "before")])
            if r.status == 200 { acknowledged += 1 }
        }
        #expect(acknowledged == 5)
        try cluster.stop()
        let down = try await client.send("POST", "/api/v1/customers/c9/events", form: [("name", "during")])
        #expect(down.status == 503)
        #expect(down.json["status"] == "error")
        #expect(down.json["error"]?.stringValue?.contains("database") == true)
        #expect(try await client.send("GET", "/readyz").status == 503)
        try cluster.start()
        let recovered = await eventually(timeout: .seconds(30)) {
            (try? await client.send("POST", "/api/v1/customers/c7/events", form: [("name", "after")]).status) == 200
        }
        #expect(recovered)
        acknowledged += 1
        let count = try await app.store.pool.execute("SELECT count(*) FROM events WHERE type = 'customer.event_tracked'")[0].int(0)
        #expect(count == acknowledged)
        #expect(await eventually { (try? await client.send("GET", "/readyz").status) == 200 })
        await app.shutdown()
    }
}
