import EventStore
import Foundation
import IngestService
import JSON
import QueryService
import Service
import TestSupport
import Testing

/// Writes through the real ingest service and reads through query on the same database, with the
/// ingest's consistency token (read-your-writes across services).
@Suite struct IngestToQueryTests {
    @Test func writesThroughIngestAreReadableWithTheirToken() async throws {
        let url = try TestPostgres.makeDatabase()
        let configuration = try TestServices.configuration(databaseURL: url, extra: ["QUERY_OPERATOR_SITES": "site1"])
        let ingest = try await IngestService.start(configuration: configuration, port: 0)
        let query = try await QueryService.start(configuration: configuration, port: 0)
        let writer = TestHTTPClient(port: ingest.port, basicAuth: ("site1", "key1"))

        let created = try await writer.send(
            "POST", "/customers", json: ["email": "Ann@Example.com", "data": ["first_name": "Ann", "city": "Oslo"], "locale": "nb-NO"])
        #expect(created.status == 200)
        let merged = try await writer.send("POST", "/customers", json: ["email": "ann@example.com", "data": ["city": "Bergen"]])
        let token = try #require(merged.header("X-Consistency-Token"))
        let r = try await query.site1.get("/customers/ann@example.com", headers: [("X-Consistency-Token", token)])
        #expect(r.status == 200)
        #expect(r.json["customer"]?["data"] == ["first_name": "Ann", "city": "Bergen"])
        #expect(r.json["customer"]?["locale"] == "nb-NO")
        #expect(r.json["customer"]?["email"] == "ann@example.com")

        let tracked = try await writer.send(
            "POST", "/api/v1/customers/ann@example.com/events", json: ["name": "purchase", "data": ["total": 12]])
        #expect(tracked.status == 200)
        let events = try await query.site1.get(
            "/api/v1/customers/ann@example.com/events",
            headers: [("X-Consistency-Token", tracked.header("X-Consistency-Token") ?? "")])
        #expect(events.json["events"]?.arrayValue?.first?["name"] == "purchase")
        #expect(events.json["events"]?.arrayValue?.first?["data"] == ["total": 12])

        let deleted = try await writer.send("DELETE", "/customers/ann@example.com")
        #expect(deleted.status == 200)
        let gone = try await query.site1.get(
            "/customers/ann@example.com", headers: [("X-Consistency-Token", deleted.header("X-Consistency-Token") ?? "")])
        #expect(gone.status == 404)
        #expect(try await query.site1.get("/api/v1/customers/ann@example.com/events").status == 404)

        await query.shutdown()
        await ingest.shutdown()
    }
}
