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

/// Issue 10 end to end: after a delete, nothing readable of the customer remains in the event
/// table, the read tables or a pg_dump; a rebuild restores nothing; a recreate starts empty.
@Suite struct ErasureEndToEndTests {
    static func pgDump(_ url: String) throws -> String {
        let out = NSTemporaryDirectory() + "dump-\(UUID().uuidString).sql"
        defer { try? FileManager.default.removeItem(atPath: out) }
        try TestPostgresBinaries.run("pg_dump", ["--dbname=" + url, "--file=" + out, "--no-owner"])
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    @Test func deleteLeavesNothingReadableAnywhere() async throws {
        let url = try TestPostgres.makeDatabase()
        let shared = ["MASTER_KEY": MasterKeyring.generateEntry(id: "e2e")]
        let ingest = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: url, extra: shared), port: 0)
        let query = try await QueryService.start(configuration: try TestServices.configuration(databaseURL: url, extra: shared), port: 0)
        let writer = TestHTTPClient(port: ingest.port, basicAuth: ("site1", "key1"))
        let reader = TestHTTPClient(port: query.port, basicAuth: ("site1", "key1"))
        let email = "erase.me.\(UInt32.random(in: 1000...9999))@example.com"
        let secrets = [email, "Zanzibar-Attribute-Value", "Quetzalcoatl-Event-Data"]

        let created = try await writer.send(
            "POST", "/customers", json: ["email": .string(email), "data": ["city": "Zanzibar-Attribute-Value"], "locale": "de-DE"])
        #expect(created.status == 200)
        let tracked = try await writer.send(
            "POST", "/api/v1/customers/\(email)/events", json: ["name": "purchased", "data": ["note": "Quetzalcoatl-Event-Data"]])
        let token = tracked.header("X-Consistency-Token") ?? ""
        let before = try await reader.send("GET", "/customers/\(email)", headers: [("X-Consistency-Token", token)])
        #expect(before.status == 200)
        #expect(before.json["customer"]?["data"]?["city"] == "Zanzibar-Attribute-Value")
        // The search can find them: before the delete the read tables hold plaintext.
        let dumpBefore = try Self.pgDump(url)
        #expect(secrets.allSatisfy { dumpBefore.contains($0) })
        // ... but the event table never does.
        let events = try await ingest.store.pool.execute("SELECT string_agg(stream || data::text || metadata::text, ' ') FROM events")
        #expect(secrets.allSatisfy { !(events[0][0] ?? "").contains($0) })

        let deleted = try await writer.send("DELETE", "/customers/\(email)")
        #expect(deleted.status == 200)
        let gone = try await reader.send("GET", "/customers/\(email)", headers: [("X-Consistency-Token", deleted.header("X-Consistency-Token") ?? "")])
        #expect(gone.status == 404)
        // The audit trail says who erased which subject and when, and holds nothing erased.
        let audit = try await ingest.store.pool.execute(
            "SELECT data::text, metadata::text FROM events WHERE type = 'audit.erasure_recorded'")
        #expect(audit.count == 1)
        let auditText = (audit[0][0] ?? "") + (audit[0][1] ?? "")
        #expect(auditText.contains("\"actor\":\"site1\"") && auditText.contains("occurred_at"), "\(auditText)")
        #expect(secrets.allSatisfy { !auditText.contains($0) })
        let dumpAfter = try Self.pgDump(url)
        for s in secrets { #expect(!dumpAfter.contains(s), "\(s) still in the dump") }

        // A rebuild from position 0 brings nothing back.
        #expect(try await query.rebuildEveryProjection(timeout: .seconds(20)))
        #expect(try await reader.send("GET", "/customers/\(email)").status == 404)
        let dumpRebuilt = try Self.pgDump(url)
        for s in secrets { #expect(!dumpRebuilt.contains(s), "\(s) back after a rebuild") }

        // Recreate starts empty.
        let again = try await writer.send("POST", "/customers", json: ["email": .string(email), "data": ["fresh": "yes"]])
        let fresh = try await reader.send("GET", "/customers/\(email)", headers: [("X-Consistency-Token", again.header("X-Consistency-Token") ?? "")])
        #expect(fresh.status == 200)
        #expect(fresh.json["customer"]?["data"] == ["fresh": "yes"])
        await query.shutdown()
        await ingest.shutdown()
    }
}
