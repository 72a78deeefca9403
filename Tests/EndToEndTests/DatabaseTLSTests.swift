import Crypto
import Foundation
import IngestService
import JSON
import Postgres
import QueryService
import TestSupport
import Testing

/// The services against a PostgreSQL that takes TLS, with the server's certificate verified
/// (`sslmode=verify-full` in `DATABASE_URL`, as a managed database asks): every connection —
/// pooled, committers, projection runners, the LISTEN connection — is encrypted, and a server
/// whose certificate the configured root does not vouch for is refused.
@Suite struct DatabaseTLSTests {
    @Test func servicesRunOverVerifiedTLSAndRefuseAnUnknownServerCertificate() async throws {
        let cluster = try PrivateCluster(tls: true)
        defer { cluster.destroy() }
        let url = cluster.url + "?sslmode=verify-full&sslrootcert=" + cluster.certificatePath
        let shared = ["MASTER_KEY": MasterKeyring.generateEntry(id: "tls")]
        let ingest = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: url, extra: shared), port: 0)
        let query = try await QueryService.start(configuration: try TestServices.configuration(databaseURL: url, extra: shared), port: 0)
        let writer = TestHTTPClient(port: ingest.port, basicAuth: ("site1", "key1"))
        let reader = TestHTTPClient(port: query.port, basicAuth: ("site1", "key1"))
        let r = try await writer.send("POST", "/api/v1/customers/cust-1/events", json: ["name": "purchased", "data": ["n": 1]])
        try #require(r.status == 200, "\(r.text)")
        // Read back through query: its runner was woken over the LISTEN connection.
        #expect(await eventually(timeout: .seconds(15)) {
            (try? await reader.send("GET", "/api/v1/customers/cust-1/events").text.contains("purchased")) == true
        })
        let c = try PostgresConnection(url: url)
        let sessions = try c.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE s.ssl)
              FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
             WHERE a.backend_type = 'client backend' AND a.datname = current_database()
            """)
        let (all, encrypted) = (sessions[0].int(0) ?? 0, sessions[0].int(1) ?? -1)
        #expect(all > 3 && encrypted == all, "\(encrypted) of \(all) sessions use TLS")
        await query.shutdown()
        await ingest.shutdown()

        // A root that did not sign the server's certificate: no connection.
        let other = NSTemporaryDirectory() + "other-root-\(UUID().uuidString).pem"
        let otherKey = other + ".key"
        defer {
            try? FileManager.default.removeItem(atPath: other)
            try? FileManager.default.removeItem(atPath: otherKey)
        }
        try SelfSignedCertificate.write(certificate: other, key: otherKey)
        #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(url: cluster.url + "?sslmode=verify-full&sslrootcert=" + other)
        }
    }
}
