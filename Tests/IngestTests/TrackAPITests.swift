import EventStore
import Foundation
import IngestService
import JSON
import TestSupport
import Testing

@Suite struct CustomerIOTrackTests {
    /// The curl examples of seed 004, as written (form bodies, Basic site:key).
    @Test func seedCurlExamplesWork() async throws {
        let h = try await IngestHarness.start()
        let put = try await h.client.send(
            "PUT", "/api/v1/customers/5", form: [("email", "customer@example.com"), ("name", "Bob"), ("plan", "premium")])
        #expect(put.status == 200)
        let track = try await h.client.send("POST", "/api/v1/customers/5/events", form: [("name", "purchased"), ("data[price]", "23.45")])
        #expect(track.status == 200)
        let plain = try await h.client.send("POST", "/api/v1/customers/5/events", form: [("name", "eventName")])
        #expect(plain.status == 200)
        let del = try await h.client.send("DELETE", "/api/v1/customers/5")
        #expect(del.status == 200)
        let events = try await h.events()
        try #require(events.count >= 1)
        #expect(events.map(\.type) == ["customer.upserted", "customer.event_tracked", "customer.event_tracked", "customer.deleted", "audit.erasure_recorded"])
        #expect(events[1].data["name"] == "purchased")
        // Profile events share the customer's stream; each tracked event has one of its own.
        #expect(events[0].stream.hasPrefix("customer-") && events[3].stream == events[0].stream)
        #expect(events[3].version == 2)
        for e in events[1...2] {
            #expect(e.stream == "tracked-" + e.id.hexText(dashed: false) && e.version == 1)
        }
        // The id's key and the email's key were both destroyed.
        #expect(events[3].data["erased_subjects"]?.arrayValue?.count == 2)
        #expect(try await h.personal(events[1]) == nil)
        await h.stop()
    }

    @Test func jsonBodiesKeepTypesAndTrackedEventsDoNotCreateCustomers() async throws {
        let h = try await IngestHarness.start()
        let r = try await h.client.send(
            "POST", "/api/v1/customers/u-1/events",
            json: ["name": "purchased", "data": ["price": .number("23.45"), "sku": "23.45", "gift": true], "timestamp": 1_700_000_000])
        #expect(r.status == 200)
        let events = try await h.events()
        try #require(events.count >= 1)
        #expect(events.count == 1)
        #expect(events[0].data["occurred_at"] == .int64(1_700_000_000_000))
        let p = try await h.personal(events[0])
        #expect(p?["data"] == ["price": .number("23.45"), "sku": "23.45", "gift": true])
        // No profile was created: deleting the customer is a 404.
        #expect(try await h.client.send("DELETE", "/api/v1/customers/u-1").status == 404)
        await h.stop()
    }

    @Test func eventIdDeduplicates() async throws {
        let h = try await IngestHarness.start()
        for _ in 0..<3 {
            let r = try await h.client.send("POST", "/api/v1/customers/7/events", form: [("name", "signup"), ("id", "evt-1")])
            #expect(r.status == 200)
        }
        #expect(try await h.eventCount() == 1)
        await h.stop()
    }

    @Test func emailIdsAreOneNamespaceWithSendwithus() async throws {
        let h = try await IngestHarness.start()
        _ = try await h.client.send("PUT", "/api/v1/customers/Ann@Example.com", json: ["plan": "gold"])
        #expect(try await h.client.send("DELETE", "/customers/ann@example.com").status == 200)
        await h.stop()
    }

    @Test func batchIsAllOrNothingWithPerOperationErrors() async throws {
        let h = try await IngestHarness.start()
        let good: JSON = [
            "batch": [
                ["type": "person", "identifiers": ["id": "42"], "action": "identify", "attributes": ["email": "x@example.com", "plan": "basic"]],
                ["type": "person", "identifiers": ["id": "42"], "action": "event", "name": "opened_app", "attributes": ["v": 1]],
            ]
        ]
        #expect(try await h.client.send("POST", "/api/v2/batch", json: good).status == 200)
        #expect(try await h.eventCount() == 2)
        let bad: JSON = [
            "batch": [
                ["type": "person", "identifiers": ["id": "43"], "action": "identify", "attributes": ["plan": "x"]],
                ["type": "person", "identifiers": ["id": "44"], "action": "explode"],
                ["type": "person", "identifiers": ["id": "45"], "action": "identify", "colour": "red"],
                ["type": "person", "identifiers": ["id": "46"], "action": "identify", "attributes": ["nested": ["a": 1]]],
            ]
        ]
        let r = try await h.client.send("POST", "/api/v2/batch", json: bad)
        #expect(r.status == 400)
        #expect(r.json["errors"]?.arrayValue?.compactMap { $0["index"]?.intValue } == [1, 2, 3])
        // A delete of an unknown customer spoils the whole batch, including the valid identify.
        let withDelete: JSON = [
            "batch": [
                ["type": "person", "identifiers": ["id": "50"], "action": "identify", "attributes": ["plan": "x"]],
                ["type": "person", "identifiers": ["id": "nobody"], "action": "delete"],
            ]
        ]
        #expect(try await h.client.send("POST", "/api/v2/batch", json: withDelete).status == 400)
        #expect(try await h.eventCount() == 2)
        let entity = try await h.client.send(
            "POST", "/api/v2/entity", json: ["type": "person", "identifiers": ["id": "42"], "action": "delete"])
        #expect(entity.status == 200)
        #expect(try await h.eventCount() == 4)
        let big = JSON.object(["batch": .array(Array(repeating: ["type": "person", "identifiers": ["id": "1"], "action": "event", "name": "e"], count: 1001))])
        #expect(try await h.client.send("POST", "/api/v2/batch", json: big).status == 400)
        await h.stop()
    }
}

@Suite struct BadInputTests {
    static let long = String(repeating: "a", count: 151)

    /// Each bad request: a 4xx in the error shape, nothing appended.
    @Test func badRequestsAreRefusedAndChangeNothing() async throws {
        let h = try await IngestHarness.start()
        let manyAttributes = JSON.object(JSONObject((0..<301).map { ("a\($0)", JSON.int($0)) }))
        let cases: [(String, String, [UInt8], String, Int)] = [
            ("POST", "/customers", Array("{\"email\": ".utf8), "application/json", 400),
            ("POST", "/customers", Array("{\"email\":\"a@example.com\"}".utf8), "text/plain", 415),
            ("POST", "/customers", (["data": ["a": 1]] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", (["email": ""] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", (["email": "not-an-address"] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", (["email": "a@example.com", "data": [Self.long: 1]] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", (["email": "a@example.com", "data": manyAttributes] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", (["email": "a@example.com", "data": ["v": .string(String(repeating: "x", count: 1001))]] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", (["email": "a@example.com", "data": ["v": ["nested": 1]]] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", (["email": "a@example.com", "data": ["v": [1, 2]]] as JSON).bytes, "application/json", 400),
            ("POST", "/customers", [0x7B, 0x22, 0x65, 0xFF, 0x22, 0x3A, 0x31, 0x7D], "application/json", 400),
            ("PUT", "/api/v1/customers/\(Self.long)", Array("plan=x".utf8), "application/x-www-form-urlencoded", 400),
            ("PUT", "/api/v1/customers/9", Array("email=nope".utf8), "application/x-www-form-urlencoded", 400),
            ("PUT", "/api/v1/customers/9", Array("plan=%FF".utf8), "application/x-www-form-urlencoded", 400),
            ("POST", "/api/v1/customers/9/events", Array("data[price]=1".utf8), "application/x-www-form-urlencoded", 400),
            ("POST", "/api/v1/customers/9/events", Array("name=".utf8), "application/x-www-form-urlencoded", 400),
            ("POST", "/api/v1/customers/9/events", (["name": "x", "data": ["a": ["b": 1]]] as JSON).bytes, "application/json", 400),
            ("POST", "/api/v1/customers/9/events", (["name": "x", "timestamp": "yesterday"] as JSON).bytes, "application/json", 400),
            ("POST", "/api/v2/batch", (["batch": [], "extra": 1] as JSON).bytes, "application/json", 400),
            ("POST", "/api/v2/batch", (["batch": []] as JSON).bytes, "application/json", 400),
            ("POST", "/api/v2/entity", (["type": "company", "identifiers": ["id": "1"], "action": "identify"] as JSON).bytes, "application/json", 400),
        ]
        for (method, path, body, type, status) in cases {
            let r = try await h.client.send(method, path, body: body, headers: [("Content-Type", type)])
            #expect(r.status == status, "\(method) \(path) \(String(decoding: body.prefix(60), as: UTF8.self))")
            #expect(r.json["success"] == false)
            #expect(r.json["error"]?.stringValue?.isEmpty == false)
        }
        // A body over the limit.
        let huge = [UInt8](repeating: 0x61, count: (1 << 20) + 10)
        let r = try await h.client.send("POST", "/customers", body: huge, headers: [("Content-Type", "application/json")])
        #expect(r.status == 413)
        #expect(try await h.eventCount() == 0)
        await h.stop()
    }
}
