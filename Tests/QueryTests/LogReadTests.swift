import EventStore
import Foundation
import JSON
import QueryService
import Service
import TestSupport
import Testing

@Suite struct LogReadTests {
    @Test func logObjectAndTimelineWithReOpenedAndReClicked() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        let m = EventWriter.newMessage()
        try await w.request(m, to: "Brad@Example.com", name: "Brad", template: ("as8dfjha8dap", "Order Confirmation", "Version A"), at: t0)
        try await w.event(m, "message.queued", status: "queued", at: t0 + 1_000, message: "email queued")
        try await w.event(
            m, "message.failed_to_send", status: "failed_to_send", at: t0 + 2_000, message: "email failed to send, will retry")
        try await w.event(m, "message.sent", status: "sent", at: t0 + 3_000, message: "email sent through SendGrid", provider: "sendgrid")
        try await w.event(m, "message.provider_event", status: "opened", at: t0 + 4_000, provider: "sendgrid")
        try await w.event(m, "message.provider_event", status: "clicked", at: t0 + 5_000, provider: "sendgrid", details: ["url": "https://x"])
        try await w.event(m, "message.provider_event", status: "opened", at: t0 + 6_000, provider: "sendgrid")
        let last = try await w.event(m, "message.provider_event", status: "clicked", at: t0 + 7_000, provider: "sendgrid")
        try await app.caughtUp(last)

        let log = try await app.site1.get("/logs/\(m.logID)")
        #expect(log.status == 200)
        #expect(
            log.text
                == #"{"object":"log","id":"\#(m.logID)","created":1700000000,"recipient_name":"Brad","recipient_address":"Brad@Example.com","status":"re_clicked","message":"SendGrid: Link in email has been clicked again","email_id":"as8dfjha8dap","email_name":"Order Confirmation","email_version":"Version A"}"#
        )
        // The UUID and the bare hex name the same log, also under /api/v1.
        #expect(try await app.site1.get("/logs/\(m.uuid)").json == log.json)
        #expect(try await app.site1.get("/api/v1/logs/\(m.hex)").json == log.json)

        let events = try await app.site1.get("/api/v1/logs/\(m.logID)/events")
        #expect(events.status == 200)
        let types = events.json.arrayValue?.compactMap { $0["type"]?.stringValue }
        #expect(types == ["requested", "queued", "failed_to_send", "sent", "opened", "clicked", "re_opened", "re_clicked"])
        #expect(
            events.json.arrayValue?.first == ["object": "event", "created": .number("1700000000"), "type": "requested", "message": "requested"])
        #expect(events.json.arrayValue?[4]["message"] == "SendGrid: Message has been opened")
        #expect(events.json.arrayValue?[6]["message"] == "SendGrid: Message has been opened again")
        #expect(events.json.arrayValue?[3]["created"] == .number("1700000003"))

        for bad in ["log_xyz", "nothex", "log_123"] {
            let r = try await app.site1.get("/logs/\(bad)")
            #expect(r.status == 400)
            #expect(r.json["error"] == "log_id must be log_ followed by 32 hex digits, or a UUID")
        }
        let unknown = EventWriter.newMessage()
        #expect(try await app.site1.get("/logs/\(unknown.logID)").status == 404)
        #expect(try await app.site1.get("/logs/\(unknown.logID)/events").json["error"] == "log not found")
        await app.shutdown()
    }

    @Test func outOfOrderProviderEventsGiveTheRightStatusAndAnOrderedTimeline() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        let m = EventWriter.newMessage()
        // The provider's `delivered` (and an open) arrive before the request itself is applied.
        try await w.event(m, "message.provider_event", status: "delivered", at: t0 + 4_000, provider: "ses")
        let early = try await w.event(m, "message.provider_event", status: "opened", at: t0 + 9_000, provider: "ses")
        try await app.caughtUp(early)
        #expect(try await app.site1.get("/logs/\(m.logID)").status == 404)

        try await w.request(m, to: "late@example.com", at: t0)
        try await w.event(m, "message.queued", status: "queued", at: t0 + 1_000)
        let sent = try await w.event(m, "message.sent", status: "sent", at: t0 + 2_000, provider: "ses")
        try await app.caughtUp(sent)

        let log = try await app.site1.get("/logs/\(m.logID)")
        #expect(log.json["status"] == "opened")
        #expect(log.json["message"] == "SES: Message has been opened")
        let types = try await app.site1.get("/logs/\(m.logID)/events").json.arrayValue?.compactMap { $0["type"]?.stringValue }
        #expect(types == ["requested", "queued", "sent", "delivered", "opened"])

        let history = try await app.site1.get("/v1/Email/")
        let email = history.json["Emails"]?.arrayValue?.first
        #expect(email?["State"] == "delivered")
        #expect(email?["SentAt"] == .number("1700000002"))
        #expect(email?["DeliveredDate"] == .number("1700000004"))
        #expect(email?["LastUpdated"] == .number("1700000009"))
        await app.shutdown()
    }

    @Test func customerLogsNewestFirstWithCountAndTimeFilters() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        var messages: [EventWriter.Message] = []
        var last = Checkpoint.start
        for i in 0..<5 {
            let m = EventWriter.newMessage()
            messages.append(m)
            last = try await w.request(m, to: i == 4 ? "other@example.com" : "matt@sendwithus.com", at: t0 + Int64(i) * 10_000)
        }
        try await app.caughtUp(last)
        func ids(_ query: String) async throws -> [String] {
            let r = try await app.site1.get("/customers/Matt@SendWithUs.com/logs\(query)")
            #expect(r.status == 200)
            #expect(r.json["success"] == true)
            #expect(r.json["status"] == "OK")
            return r.json["logs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        }
        let newestFirst = messages[0..<4].reversed().map(\.logID)
        #expect(try await ids("") == newestFirst)
        #expect(try await ids("?count=2") == Array(newestFirst.prefix(2)))
        #expect(try await ids("?created_lt=1700000020") == [messages[1].logID, messages[0].logID])
        #expect(try await ids("?created_gt=1700000010") == [messages[3].logID, messages[2].logID])
        #expect(try await ids("?created_gt=1700000000&created_lt=1700000030") == [messages[2].logID, messages[1].logID])
        let viaV1 = try await app.site1.get("/api/v1/customers/matt@sendwithus.com/logs?count=1")
        #expect(viaV1.json["logs"]?.arrayValue?.first?["object"] == "log")
        #expect(viaV1.json["logs"]?.arrayValue?.first?["recipient_address"] == "matt@sendwithus.com")

        let bad: [(String, String)] = [
            ("count=0", "count must be an integer between 1 and 100"),
            ("count=101", "count must be an integer between 1 and 100"),
            ("count=ten", "count must be an integer between 1 and 100"),
            ("created_lt=yesterday", "created_lt must be a unix timestamp in seconds (a non-negative integer before the year 3000)"),
            ("created_gt=-5", "created_gt must be a unix timestamp in seconds (a non-negative integer before the year 3000)"),
            // Found by schemathesis: seconds this large overflowed on the way to milliseconds.
            ("created_lt=9223372036854775806", "created_lt must be a unix timestamp in seconds (a non-negative integer before the year 3000)"),
        ]
        for (query, message) in bad {
            let r = try await app.site1.get("/customers/matt@sendwithus.com/logs?\(query)")
            #expect(r.status == 400, "\(query)")
            #expect(r.json["error"]?.stringValue == message, "\(query)")
        }
        await app.shutdown()
    }

    @Test func readYourWritesWithTheConsistencyToken() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let m = EventWriter.newMessage()
        let token = try await w.request(m, to: "ryw@example.com", at: EventWriter.t0)
        // No polling: the token makes the read wait for the projection.
        let r = try await app.site1.get("/logs/\(m.logID)", headers: [("X-Consistency-Token", token.description)])
        #expect(r.status == 200)
        #expect(r.json["recipient_address"] == "ryw@example.com")
        let c = try await w.upsertCustomer(email: "ryw@example.com", attributes: ["a": "b"], at: EventWriter.t0)
        let customer = try await app.site1.get("/customers/ryw@example.com", headers: [("X-Consistency-Token", c.description)])
        #expect(customer.status == 200)

        let bad = try await app.site1.get("/logs/\(m.logID)", headers: [("X-Consistency-Token", "not-a-token")])
        #expect(bad.status == 400)
        #expect(bad.json["error"] == "X-Consistency-Token is not a valid consistency token")
        let badV1 = try await app.site1.get("/v1/Email/", headers: [("X-Consistency-Token", "1.2.3")])
        #expect(badV1.status == 400)
        #expect(badV1.json == ["Error": "X-Consistency-Token is not a valid consistency token"])

        // A token from the future never arrives: 503 with a clear error after the wait.
        let future = Checkpoint(transactionID: token.transactionID + 1_000_000, position: token.position + 1_000_000)
        let late = try await app.site1.get("/logs/\(m.logID)", headers: [("X-Consistency-Token", future.description)])
        #expect(late.status == 503)
        #expect(late.json["error"]?.stringValue?.contains("not caught up") == true)
        await app.shutdown()
    }
}
