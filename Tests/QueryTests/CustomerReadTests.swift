import EventStore
import Foundation
import JSON
import QueryService
import Service
import TestSupport
import Testing

@Suite struct CustomerReadTests {
    @Test func profileMergesAndMatchesTheSeedEnvelope() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        try await w.upsertCustomer(
            email: "Matt@Example.com", attributes: ["first_name": "Matt", "city": "Paris", "age": .number("30")],
            locale: "de-DE", at: t0)
        let last = try await w.upsertCustomer(
            email: "matt@example.com", attributes: ["city": "San Francisco", "plan": "pro"], locale: "en-US", at: t0 + 60_000)
        try await app.caughtUp(last)

        let r = try await app.site1.get("/customers/matt@example.com")
        #expect(r.status == 200)
        #expect(
            r.text
                == #"{"success":true,"status":"OK","customer":{"object":"customer","id":"matt@example.com","email":"matt@example.com","data":{"first_name":"Matt","city":"San Francisco","age":30,"plan":"pro"},"created":1700000000,"locale":"en-US"}}"#
        )
        // The same read under /api/v1, and by the address in another case.
        let v1 = try await app.site1.get("/api/v1/customers/MATT@example.com")
        #expect(v1.status == 200)
        #expect(v1.json == r.json)

        let missing = try await app.site1.get("/customers/nobody@example.com")
        #expect(missing.status == 404)
        #expect(missing.json["success"] == false)
        #expect(missing.json["status"] == "error")
        #expect(missing.json["error"] == "customer not found")
        await app.shutdown()
    }

    @Test func customerIOCustomersKeepTheirIdAndCreationTime() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let last = try await w.upsertCustomer(
            email: "io@example.com", id: "Cust-42", attributes: ["name": "Io"], createdAt: 1_600_000_000, at: EventWriter.t0)
        try await app.caughtUp(last)
        let r = try await app.site1.get("/api/v1/customers/Cust-42")
        #expect(r.status == 200)
        let c = r.json["customer"]
        #expect(c?["id"] == "Cust-42")
        #expect(c?["email"] == "io@example.com")
        #expect(c?["data"] == ["name": "Io"])
        #expect(c?["created"] == .number("1600000000"))
        #expect(c?["locale"] == .null)
        await app.shutdown()
    }

    @Test func deleteRemovesAndRecreateStartsEmpty() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        try await w.upsertCustomer(email: "gone@example.com", attributes: ["secret": "s3cr3t"], locale: "fr-FR", at: t0)
        try await w.track(id: "gone@example.com", name: "login", data: ["ip": "10.0.0.1"], at: t0 + 1_000)
        let deleted = try await w.deleteCustomer(id: "gone@example.com", at: t0 + 2_000)
        try await app.caughtUp(deleted)
        #expect(try await app.site1.get("/customers/gone@example.com").status == 404)
        #expect(try await app.site1.get("/api/v1/customers/gone@example.com/events").status == 404)

        let recreated = try await w.upsertCustomer(email: "gone@example.com", attributes: ["fresh": "yes"], at: t0 + 10_000)
        try await app.caughtUp(recreated)
        let r = try await app.site1.get("/customers/gone@example.com")
        #expect(r.status == 200)
        #expect(r.json["customer"]?["data"] == ["fresh": "yes"])
        #expect(r.json["customer"]?["created"] == .number("1700000010"))
        #expect(r.json["customer"]?["locale"] == .null)
        let events = try await app.site1.get("/api/v1/customers/gone@example.com/events")
        #expect(events.status == 200)
        #expect(events.json["events"] == [])
        // Nothing of the first life is left in the read tables.
        let dump = try await app.readTableDump().joined(separator: "\n")
        #expect(!dump.contains("s3cr3t"))
        #expect(!dump.contains("10.0.0.1"))
        await app.shutdown()
    }

    @Test func trackedEventsNewestFirstWithLimitAndBefore() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        // Tracked before the customer is identified: listed without a profile.
        try await w.track(id: "u1", name: "first", data: ["n": 1], at: t0)
        try await w.track(id: "u1", name: "second", data: ["n": 2], at: t0 + 5_000)
        let last = try await w.track(id: "u1", name: "third", data: ["n": 3], at: t0 + 10_000)
        try await app.caughtUp(last)

        let all = try await app.site1.get("/api/v1/customers/u1/events")
        #expect(all.status == 200)
        #expect(all.json["events"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["third", "second", "first"])
        #expect(
            all.json["events"]?.arrayValue?.first
                == ["object": "event", "name": "third", "data": ["n": 3], "timestamp": .number("1700000010")])
        let limited = try await app.site1.get("/api/v1/customers/u1/events?limit=1")
        #expect(limited.json["events"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["third"])
        let before = try await app.site1.get("/api/v1/customers/u1/events?before=1700000005")
        #expect(before.json["events"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["first"])

        for bad in ["limit=0", "limit=101", "limit=x", "before=-1", "before=soon", "before=9223372036854775806"] {
            let r = try await app.site1.get("/api/v1/customers/u1/events?\(bad)")
            #expect(r.status == 400, "\(bad)")
            let name = String(bad.split(separator: "=")[0])
            #expect(r.json["error"]?.stringValue?.hasPrefix(name + " must be") == true, "\(bad)")
        }
        #expect(try await app.site1.get("/api/v1/customers/nobody/events").status == 404)
        await app.shutdown()
    }

    @Test func tenantsNeverSeeEachOther() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        try await w.upsertCustomer(email: "shared@example.com", attributes: ["site": "one"], at: t0)
        try await w.track(id: "shared@example.com", name: "e", data: [:], at: t0)
        let m = EventWriter.newMessage()
        let last = try await w.request(m, to: "shared@example.com", brand: "b1", at: t0)
        try await app.caughtUp(last)

        #expect(try await app.site1.get("/customers/shared@example.com").status == 200)
        #expect(try await app.site2.get("/customers/shared@example.com").status == 404)
        #expect(try await app.site2.get("/api/v1/customers/shared@example.com/events").status == 404)
        #expect(try await app.site2.get("/logs/\(m.logID)").status == 404)
        #expect(try await app.site2.get("/logs/\(m.logID)/events").status == 404)
        let logs = try await app.site2.get("/customers/shared@example.com/logs")
        #expect(logs.status == 200)
        #expect(logs.json["logs"] == [])
        let history = try await app.site2.get("/v1/Email/")
        #expect(history.json["Emails"] == [])
        #expect(try await app.site1.get("/v1/Email/").json["Emails"]?.arrayValue?.count == 1)
        // No credentials: 401.
        #expect(try await TestHTTPClient(port: app.port).get("/customers/shared@example.com").status == 401)
        await app.shutdown()
    }
}
