import Crypto
import EventStore
import Foundation
import IngestService
import JSON
import Service
import TestSupport
import Testing

@Suite struct SendwithusCustomerTests {
    @Test func createAndUpdateAppendSealedEvents() async throws {
        let h = try await IngestHarness.start()
        let r = try await h.client.send(
            "POST", "/customers",
            json: ["email": "Matt@Sendwithus.com", "data": ["first_name": "Matt", "price": .number("23.45"), "text": "23.45"], "locale": "de-DE"])
        #expect(r.status == 200)
        #expect(r.json == ["success": true, "status": "OK"])
        #expect(r.header("X-Consistency-Token").flatMap(Checkpoint.init(token:)) != nil)
        let r2 = try await h.client.send("POST", "/api/v1/customers", json: ["email": "matt@sendwithus.com", "data": ["city": "San Francisco"]])
        #expect(r2.status == 200)
        let events = try await h.events()
        try #require(events.count >= 1)
        #expect(events.map(\.type) == ["customer.upserted", "customer.upserted"])
        #expect(events[0].stream == events[1].stream)
        // Nothing personal in clear: not the address, not the attribute values.
        let raw = events.map { $0.data.text + $0.metadata.text + $0.stream }.joined()
        for secret in ["matt@sendwithus.com", "Matt", "23.45", "San Francisco", "de-DE"] { #expect(!raw.contains(secret), "\(secret) in clear") }
        let p = try await h.personal(events[0])
        #expect(p?["id"] == "matt@sendwithus.com")
        #expect(p?["email"] == "matt@sendwithus.com")
        #expect(p?["locale"] == "de-DE")
        #expect(p?["attributes"]?["price"] == .number("23.45"))
        #expect(p?["attributes"]?["text"] == .string("23.45"))
        await h.stop()
    }

    @Test func deleteErasesAndRecreateStartsWithANewKey() async throws {
        let h = try await IngestHarness.start()
        _ = try await h.client.send("POST", "/customers", json: ["email": "a@example.com", "data": ["secret": "s3cr3t"]])
        let d = try await h.client.send("DELETE", "/customers/a@example.com")
        #expect(d.status == 200)
        #expect(try await h.client.send("DELETE", "/customers/a@example.com").status == 404)
        _ = try await h.client.send("POST", "/customers", json: ["email": "a@example.com", "data": ["fresh": "yes"]])
        let events = try await h.events()
        try #require(events.count >= 1)
        #expect(events.map(\.type) == ["customer.upserted", "customer.deleted", "audit.erasure_recorded", "customer.upserted"])
        // The first upsert is unreadable now; the new one is readable under a different key.
        #expect(try await h.personal(events[0]) == nil)
        #expect(try await h.personal(events[3])?["attributes"] == ["fresh": "yes"])
        #expect(events[0].metadata["key_id"] != events[3].metadata["key_id"])
        #expect(events[1].data["erased_subjects"]?.arrayValue?.count == 1)
        #expect(events[2].data["actor"] == "site1")
        await h.stop()
    }

    /// Started with a MASTER_KEY that has the stored keys' id but other key material, the
    /// service refuses to start (a configuration error naming the key id) instead of answering
    /// every write with 500.
    @Test func startRefusesAMasterKeyThatCannotOpenTheStoredKeys() async throws {
        let h = try await IngestHarness.start()
        #expect(try await h.client.send("PUT", "/api/v1/customers/9", json: ["plan": "gold"]).status == 200)
        let url = h.app.configuration.databaseURL
        await h.stop()
        let wrong = try TestServices.configuration(databaseURL: url, extra: ["MASTER_KEY": MasterKeyring.generateEntry(id: "test1")])
        await #expect(throws: ConfigurationError.self) { _ = try await IngestService.start(configuration: wrong, port: 0) }
        let right = try await IngestService.start(configuration: try TestServices.configuration(databaseURL: url), port: 0)
        await right.shutdown()
    }

    @Test func deleteOfUnknownCustomerIs404AndAppendsNothing() async throws {
        let h = try await IngestHarness.start()
        let r = try await h.client.send("DELETE", "/customers/nobody@example.com", headers: [("Content-Type", "application/json")])
        #expect(r.status == 404)
        #expect(r.json["success"] == false)
        #expect(r.json["status"] == "error")
        #expect(try await h.eventCount() == 0)
        await h.stop()
    }

    @Test func tenantsNeverSeeEachOthersCustomers() async throws {
        let h = try await IngestHarness.start()
        _ = try await h.client.send("POST", "/customers", json: ["email": "shared@example.com"])
        var other = h.client
        other.basicAuth = ("site2", "key2")
        #expect(try await other.send("DELETE", "/customers/shared@example.com").status == 404)
        #expect(try await h.client.send("DELETE", "/customers/shared@example.com").status == 200)
        await h.stop()
    }

    @Test func authenticationIsRequired() async throws {
        let h = try await IngestHarness.start()
        var anonymous = h.client
        anonymous.basicAuth = nil
        let r = try await anonymous.send("POST", "/customers", json: ["email": "a@example.com"])
        #expect(r.status == 401)
        #expect(r.header("WWW-Authenticate") != nil)
        var wrong = h.client
        wrong.basicAuth = ("site1", "key2")
        #expect(try await wrong.send("POST", "/customers", json: ["email": "a@example.com"]).status == 401)
        // sendwithus style: the key as user name, empty password; and Bearer.
        var keyOnly = h.client
        keyOnly.basicAuth = ("key1", "")
        #expect(try await keyOnly.send("POST", "/customers", json: ["email": "a@example.com"]).status == 200)
        #expect(try await anonymous.send("POST", "/customers", json: ["email": "b@example.com"], headers: [("Authorization", "Bearer key2")]).status == 200)
        #expect(try await h.eventCount() == 2)
        await h.stop()
    }

    @Test func idempotencyKeyReplaysAndRefusesADifferentBody() async throws {
        let h = try await IngestHarness.start()
        let key = [("Idempotency-Key", "k-1")]
        let a = try await h.client.send("POST", "/customers", json: ["email": "i@example.com"], headers: key)
        let b = try await h.client.send("POST", "/customers", json: ["email": "i@example.com"], headers: key)
        #expect(a.status == 200 && b.status == 200)
        #expect(b.header("Idempotent-Replayed") == "true")
        #expect(a.header("X-Consistency-Token") == b.header("X-Consistency-Token"))
        let c = try await h.client.send("POST", "/customers", json: ["email": "other@example.com"], headers: key)
        #expect(c.status == 422)
        #expect(try await h.eventCount() == 1)
        // Concurrent copies of one keyed request append once.
        try await withThrowingTaskGroup(of: Int.self) { g in
            for _ in 0..<8 {
                g.addTask {
                    try await h.client.send("POST", "/customers", json: ["email": "c@example.com"], headers: [("Idempotency-Key", "k-2")]).status
                }
            }
            for try await s in g { #expect(s == 200) }
        }
        #expect(try await h.eventCount() == 2)
        await h.stop()
    }
}
