import EventStore
import Foundation
import JSON
import QueryService
import Service
import TestSupport
import Testing

@Suite struct ErasureAndRebuildTests {
    /// Some of everything: two customers, tracked events, logs with timelines, one erasure.
    func load(_ w: EventWriter) async throws -> (kept: EventWriter.Message, erased: EventWriter.Message, last: Checkpoint) {
        let t0 = EventWriter.t0
        try await w.upsertCustomer(email: "keep@example.com", attributes: ["a": "1"], locale: "en-US", at: t0)
        try await w.upsertCustomer(email: "keep@example.com", attributes: ["b": .number("2.50")], at: t0 + 1_000)
        try await w.upsertCustomer(email: "io@example.com", id: "io-7", attributes: ["x": true], createdAt: 1_650_000_000, at: t0)
        try await w.track(id: "io-7", name: "viewed", data: ["page": "/"], at: t0 + 2_000)
        try await w.upsertCustomer(email: "erase@example.com", attributes: ["secret": "hunter2"], at: t0)
        try await w.track(id: "erase@example.com", name: "paid", data: ["card": "card-4242-4242"], at: t0 + 3_000)
        let kept = EventWriter.newMessage()
        try await w.request(kept, to: "keep@example.com", name: "Keeper", brand: "b", msgDetails: ["To": "keep@example.com"], at: t0)
        try await w.event(kept, "message.provider_event", status: "delivered", at: t0 + 9_000, provider: "sendgrid")
        try await w.event(kept, "message.sent", status: "sent", at: t0 + 5_000, provider: "sendgrid")
        let erased = EventWriter.newMessage()
        try await w.request(
            erased, to: "Erase@Example.com", name: "Eve Erased", brand: "b", emailType: "token",
            msgDetails: ["To": "erase@example.com", "Type": "token", "Token": "tok"], at: t0 + 1_000)
        try await w.event(erased, "message.sent", status: "sent", at: t0 + 2_000, provider: "ses")
        try await w.event(erased, "message.provider_event", status: "opened", at: t0 + 4_000, provider: "ses")
        let last = try await w.deleteCustomer(id: "erase@example.com", at: t0 + 20_000)
        return (kept, erased, last)
    }

    @Test func erasureBlanksLogRecipientsAndKeepsTheFacts() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let (kept, erased, last) = try await load(w)
        try await app.caughtUp(last)

        let log = try await app.site1.get("/logs/\(erased.logID)")
        #expect(log.status == 200)
        #expect(log.json["recipient_address"] == .null)
        #expect(log.json["recipient_name"] == .null)
        #expect(log.json["status"] == "opened")
        #expect(log.json["email_id"] == "tem_1")
        let timeline = try await app.site1.get("/logs/\(erased.logID)/events")
        #expect(timeline.json.arrayValue?.compactMap { $0["type"]?.stringValue } == ["requested", "sent", "opened"])
        #expect(try await app.site1.get("/customers/erase@example.com/logs").json["logs"] == [])
        #expect(try await app.site1.get("/v1/Email/?Email=erase@example.com").json["Emails"] == [])
        let history = try await app.site1.get("/v1/Email/?BrandId=b").json["Emails"]?.arrayValue ?? []
        let item = history.first { $0["MessageId"]?.stringValue == erased.uuid }
        #expect(item?["Email"] == "")
        #expect(item?["MsgDetails"] == [:])
        #expect(item?["Type"] == "token")
        #expect(item?["State"] == "delivered")
        // The other customer's log is untouched.
        #expect(try await app.site1.get("/logs/\(kept.logID)").json["recipient_name"] == "Keeper")

        let dump = try await app.readTableDump().joined(separator: "\n").lowercased()
        for secret in ["erase@example.com", "eve erased", "hunter2", "card-4242-4242"] {
            #expect(!dump.contains(secret), "\(secret)")
        }
        await app.shutdown()
    }

    @Test func operatorRebuildGivesIdenticalRowsAndRestoresNothingErased() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let (_, _, last) = try await load(w)
        try await app.caughtUp(last)
        let before = try await app.readTableDump()
        #expect(before.count > 10)

        // Only operator sites may rebuild.
        #expect(try await app.site2.send("POST", "/admin/rebuild").status == 403)
        let started = try await app.site1.send("POST", "/admin/rebuild")
        #expect(started.status == 202)
        #expect(started.json["rebuilding"] == ["query"])
        let done = try await eventually(timeout: .seconds(20)) {
            try await app.site1.get("/admin/rebuild").json["rebuild"]?["done"] == true
        }
        #expect(done)
        let status = try await app.site1.get("/admin/rebuild").json["rebuild"]
        #expect(status?["events"] == 13)
        let after = try await app.readTableDump()
        #expect(after == before, "only before: \(before.filter { !after.contains($0) }); only after: \(after.filter { !before.contains($0) })")

        #expect(!after.joined().lowercased().contains("hunter2"))
        await app.shutdown()
    }

    @Test func commandLineRebuildGivesIdenticalRows() async throws {
        let configuration = try queryConfiguration()
        let app = try await QueryService.start(configuration: configuration, port: 0)
        let (_, _, last) = try await load(EventWriter(app: app))
        try await app.caughtUp(last)
        let before = try await app.readTableDump()
        await app.shutdown()

        // The same database and master key; small batches to cross batch boundaries.
        let report = try await QueryRebuild.run(configuration: configuration, batchSize: 3)
        #expect(report.events == 13)

        let again = try await QueryService.start(configuration: configuration, port: 0)
        #expect(try await again.readTableDump() == before)
        await again.shutdown()
    }
}
