import EventStore
import Foundation
import JSON
import QueryService
import Service
import TestSupport
import Testing

@Suite struct EmailHistoryTests {
    @Test func itemMatchesTheSeedAndFiltersApply() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        let delivered = EventWriter.newMessage()
        try await w.request(
            delivered, to: "example@example.com", brand: "brand-a", owner: "owner-1", emailType: "tokenAndGroup",
            msgDetails: [
                "GroupId": "group-1", "To": "example@example.com", "Type": "tokenAndGroup", "BrandId": "brand-a",
                "Token": "abcde", "NumPhotos": 10,
            ], at: t0)
        try await w.event(delivered, "message.sent", status: "sent", at: t0 + 30_000, provider: "ses")
        try await w.event(delivered, "message.provider_event", status: "delivered", at: t0 + 1_000_000, provider: "ses")
        let bounced = EventWriter.newMessage()
        try await w.request(bounced, to: "b@example.com", brand: "brand-b", emailType: "token", at: t0 + 1_000)
        try await w.event(bounced, "message.sent", status: "sent", at: t0 + 2_000, provider: "ses")
        try await w.event(
            bounced, "message.provider_event", status: "bounced", at: t0 + 3_000, provider: "ses",
            details: ["bounce_type": "Permanent", "bounce_sub_type": "General", "bounce_details": "550 no such user"])
        let complaint = EventWriter.newMessage()
        try await w.request(complaint, to: "c@example.com", brand: "brand-a", emailType: "group", at: t0 + 4_000)
        try await w.event(complaint, "message.sent", status: "sent", at: t0 + 5_000, provider: "ses")
        try await w.event(complaint, "message.provider_event", status: "delivered", at: t0 + 6_000, provider: "ses")
        let last = try await w.event(
            complaint, "message.provider_event", status: "reported_as_spam", at: t0 + 7_000, provider: "ses",
            details: ["complaint_type": "abuse"])
        try await app.caughtUp(last)

        let all = try await app.site1.get("/v1/Email/")
        #expect(all.status == 200)
        #expect(all.json["Next"] == "")
        let emails = all.json["Emails"]?.arrayValue ?? []
        #expect(emails.compactMap { $0["MessageId"]?.stringValue } == [complaint.uuid, bounced.uuid, delivered.uuid])
        let item = try #require(emails.last)
        #expect(
            item.text
                == #"{"Email":"example@example.com","Type":"tokenAndGroup","MessageId":"\#(delivered.uuid)","SentAt":1700000030,"LastUpdated":1700001000,"State":"delivered","BrandId":"brand-a","OwnerId":"owner-1","MsgDetails":{"To":"example@example.com","Type":"tokenAndGroup","BrandId":"brand-a","Token":"abcde","NumPhotos":10,"GroupId":"group-1"},"ComplaintType":"","BounceType":"","BounceSubType":"","BounceDetails":"","DeliveredDate":1700001000}"#
        )
        #expect(emails[1]["State"] == "bounced")
        #expect(emails[1]["BounceType"] == "Permanent")
        #expect(emails[1]["BounceSubType"] == "General")
        #expect(emails[1]["BounceDetails"] == "550 no such user")
        #expect(emails[0]["State"] == "complaint")
        #expect(emails[0]["ComplaintType"] == "abuse")

        func ids(_ query: String) async throws -> [String] {
            let r = try await app.site1.get("/v1/Email/?\(query)")
            #expect(r.status == 200, "\(query)")
            return r.json["Emails"]?.arrayValue?.compactMap { $0["MessageId"]?.stringValue } ?? []
        }
        #expect(try await ids("BrandId=brand-a") == [complaint.uuid, delivered.uuid])
        #expect(try await ids("State=bounced") == [bounced.uuid])
        #expect(try await ids("State=complaint&BrandId=brand-a") == [complaint.uuid])
        #expect(try await ids("State=delivered&BrandId=brand-b") == [])
        #expect(try await ids("After=1700000100") == [complaint.uuid, bounced.uuid])
        #expect(try await ids("After=1700000003") == [bounced.uuid])
        // Email: exact address (any case); the other filters are ignored.
        #expect(try await ids("Email=EXAMPLE@example.com&State=bounced&BrandId=brand-b") == [delivered.uuid])
        #expect(try await ids("Limit=1") == [complaint.uuid])

        let bad: [(String, String)] = [
            ("Limit=0", "Limit must be an integer between 1 and 1000"),
            ("Limit=1001", "Limit must be an integer between 1 and 1000"),
            ("Limit=many", "Limit must be an integer between 1 and 1000"),
            ("State=opened", "State must be one of sent, delivered, bounced, complaint"),
            ("After=tomorrow", "After must be a unix time in seconds (a non-negative integer)"),
            ("Next=garbage!", "Next is not a cursor from a previous page"),
            ("Email=", "Email must not be empty"),
            ("BrandId=", "BrandId must not be empty"),
        ]
        for (query, message) in bad {
            let r = try await app.site1.get("/v1/Email/?\(query)")
            #expect(r.status == 400, "\(query)")
            #expect(r.json == ["Error": .string(message)], "\(query)")
        }
        await app.shutdown()
    }

    @Test func cursorPagingNeverRepeatsOrSkipsWhileEmailsArrive() async throws {
        let app = try await startQuery()
        let w = EventWriter(app: app)
        let t0 = EventWriter.t0
        var existing: [String] = []
        var last = Checkpoint.start
        for i in 0..<25 {
            let m = EventWriter.newMessage()
            existing.append(m.uuid)
            last = try await w.request(m, to: "p\(i)@example.com", brand: "brand-p", at: t0 + Int64(i) * 1_000)
            last = try await w.event(m, "message.sent", status: "sent", at: t0 + Int64(i) * 1_000 + 500, provider: "ses")
        }
        try await app.caughtUp(last)

        var seen: [String] = []
        var next = ""
        var pages = 0
        repeat {
            let r = try await app.site1.get("/v1/Email/?Limit=7&BrandId=brand-p" + (next.isEmpty ? "" : "&Next=\(next)"))
            #expect(r.status == 200)
            seen += r.json["Emails"]?.arrayValue?.compactMap { $0["MessageId"]?.stringValue } ?? []
            next = r.json["Next"]?.stringValue ?? ""
            pages += 1
            // While paging: new emails arrive and existing ones get updated (delivered).
            let fresh = EventWriter.newMessage()
            try await w.request(fresh, to: "new\(pages)@example.com", brand: "brand-p", at: t0 + 100_000 + Int64(pages))
            let updated = try await w.event(
                EventWriter.Message(uuid: existing[pages], hex: existing[pages].replacingOccurrences(of: "-", with: "")),
                "message.provider_event", status: "delivered", at: t0 + 200_000, provider: "ses")
            try await app.caughtUp(updated)
        } while !next.isEmpty && pages < 20
        #expect(pages == 4)
        #expect(seen.count == Set(seen).count, "no repeats")
        #expect(Set(seen) == Set(existing), "no skips, nothing new")
        #expect(seen == existing.reversed())
        await app.shutdown()
    }
}
