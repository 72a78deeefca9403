import Foundation
import JSON
import TestSupport
import Testing

@Suite struct SendTests {
    @Test func sendRendersWithCustomerDataAndReachesTheSMTPServer() async throws {
        let smtp = try SMTPFixture()
        let h = try await DeliveryHarness.start(smtpPort: smtp.port)
        let id = try await h.createTemplate(
            subject: "Order {{order.id}} for {{first_name}}",
            html: "<p>Hi {{first_name}} {{last_name}}: {{#items}}<b>{{.}}</b>{{/items}} {{note}}</p>",
            text: "Hi {{first_name}} {{last_name}}, plan {{plan}}")
        try await h.addCustomer(
            email: "Ann@Example.com", attributes: ["first_name": "Ann", "last_name": "Lee", "plan": "gold"], locale: "en-US")
        let r = try await h.client.send(
            "POST", "/send",
            json: [
                "email_id": .string(id), "recipient": ["address": "ann@example.com", "name": "Ann Lee"],
                "cc": [["address": "cc@example.com"]], "bcc": [["address": "audit@example.com"]],
                "sender": ["address": "shop@example.com", "name": "Shop", "reply_to": "help@example.com"],
                "email_data": ["first_name": "Annie", "order": ["id": 42], "items": ["a", "b"], "note": "<&>"],
                "headers": ["X-Campaign": "spring"], "tags": ["t1"],
            ])
        #expect(r.status == 200, "\(r.text)")
        #expect(r.json["success"] == true)
        #expect(r.json["status"] == "OK")
        let logID = try #require(r.json["receipt_id"]?.stringValue)
        #expect(logID.hasPrefix("log_") && logID.utf8.count == 36)
        #expect(r.json["email"] == ["name": "Order Confirmation", "version_name": "Order Confirmation", "locale": "en-US"])

        let events = try await h.waitForEvent(logID, "message.sent")
        #expect(events.map(\.type) == ["message.requested", "message.queued", "message.sent"])
        let requested = events[0].data
        #expect(requested["status"] == "requested")
        #expect(requested["log_id"] == .string(logID))
        #expect(requested["template_id"] == .string(id))
        #expect(requested["recipient_subject"]?.stringValue?.utf8.count == 32)
        #expect(events[0].metadata["key_id"]?.stringValue != nil)
        // No personal data in clear.
        #expect(!events[0].data.text.contains("ann@example.com"))
        #expect(!events[0].data.text.contains("Annie"))
        let sent = events[2].data
        #expect(sent["status"] == "sent")
        #expect(sent["provider_message_id"]?.stringValue?.hasPrefix("FIX") == true)
        #expect(sent["smtp_reply"]?.stringValue?.contains("250") == true)
        #expect(sent["message_id_header"] == .string("<\(logID)@mail.test>"))
        #expect(sent["occurred_at"]?.intValue != nil)

        let mail = try #require(try await waitForMail(smtp, count: 1).first)
        #expect(mail.subject == "Order 42 for Annie")
        #expect(mail.content_type == "multipart/alternative")
        #expect(mail.text?.trimmingCharacters(in: .whitespacesAndNewlines) == "Hi Annie Lee, plan gold")
        #expect(mail.html?.trimmingCharacters(in: .whitespacesAndNewlines) == "<p>Hi Annie Lee: <b>a</b><b>b</b> &lt;&amp;&gt;</p>")
        #expect(mail.message_id == "<\(logID)@mail.test>")
        #expect(mail.from == [.init(name: "Shop", address: "shop@example.com")])
        #expect(mail.reply_to.map(\.address) == ["help@example.com"])
        #expect(mail.to == [.init(name: "Ann Lee", address: "ann@example.com")])
        #expect(mail.cc.map(\.address) == ["cc@example.com"])
        #expect(!mail.has_bcc_header)
        #expect(Set(mail.rcpt_tos) == ["ann@example.com", "cc@example.com", "audit@example.com"])
        #expect(mail.headers["X-Campaign"] == "spring")
        let smtpapi = try JSON.parse(Array((mail.headers["X-SMTPAPI"] ?? "").utf8))
        #expect(smtpapi["unique_args"]?["log_id"] == .string(logID))
        let mailgun = try JSON.parse(Array((mail.headers["X-Mailgun-Variables"] ?? "").utf8))
        #expect(mailgun["log_id"] == .string(logID))
        #expect(mail.defects.isEmpty)
        await h.shutdown()
        smtp.stop()
    }

    @Test func localeFallsBackToTheCustomersThenTheTemplateDefault() async throws {
        let h = try await DeliveryHarness.start()
        let id = try await h.createTemplate(subject: "Hello", html: "Hello")
        let fr = try await h.client.send(
            "POST", "/templates/\(id)/versions", json: ["name": "French", "subject": "Bonjour", "html": "Bonjour", "locale": "fr-FR"])
        #expect(fr.status == 200)
        try await h.addCustomer(email: "pierre@example.com", attributes: [:], locale: "fr-FR")
        func send(_ to: String, locale: String? = nil, version: String? = nil) async throws -> JSON {
            var body: JSONObject = ["email_id": .string(id), "recipient": ["address": .string(to)]]
            if let locale { body["locale"] = .string(locale) }
            if let version { body["version_name"] = .string(version) }
            let r = try await h.client.send("POST", "/send", json: .object(body))
            #expect(r.status == 200, "\(r.text)")
            return r.json["email"] ?? .null
        }
        #expect(try await send("pierre@example.com")["locale"] == "fr-FR")
        #expect(try await send("pierre@example.com", locale: "en-US")["locale"] == "en-US")
        #expect(try await send("other@example.com")["locale"] == "en-US")
        #expect(try await send("other@example.com", locale: "de-DE")["locale"] == "en-US")
        #expect(try await send("other@example.com", version: "French")["version_name"] == "French")
        let unknown = try await h.client.send(
            "POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "a@example.com"], "version_name": "Nope"])
        #expect(unknown.status == 400)
        await h.shutdown()
    }

    @Test func sendValidation() async throws {
        let h = try await DeliveryHarness.start()
        let id = try await h.createTemplate(subject: "s", html: "h")
        let cases: [(JSON, Int)] = [
            (["recipient": ["address": "a@example.com"]], 400),
            (["email_id": .string(id)], 400),
            (["email_id": .string(id), "recipient": ["address": "not-an-address"]], 400),
            (["email_id": .string(id), "recipient": ["address": "a@example.com"], "cc": "x"], 400),
            (["email_id": .string(id), "recipient": ["address": "a@example.com"], "email_data": [1]], 400),
            (["email_id": .string(id), "recipient": ["address": "a@example.com"], "headers": ["From": "x@y.z"]], 400),
            (["email_id": .string(id), "recipient": ["address": "a@example.com"], "headers": ["X-A": "a\r\nB: c"]], 400),
            (["email_id": "tem_unknown", "recipient": ["address": "a@example.com"]], 400),
        ]
        for (body, status) in cases {
            let r = try await h.client.send("POST", "/send", json: body)
            #expect(r.status == status, "\(body.text) → \(r.status) \(r.text)")
            #expect(r.json["success"] == false)
        }
        // Another tenant cannot send with this tenant's template.
        let foreign = try await h.other.send("POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "a@example.com"]])
        #expect(foreign.status == 400)
        await h.shutdown()
    }

    @Test func batchSendAnswersEachMessageInOrder() async throws {
        let smtp = try SMTPFixture()
        let h = try await DeliveryHarness.start(smtpPort: smtp.port)
        let id = try await h.createTemplate(subject: "Token {{Token}}", html: "<p>{{NumPhotos}} photos, group {{GroupId}}</p>")
        try await h.putBrand("brand-1", templateID: id, listUnsubscribe: "<mailto:unsub@photos.example>")
        try await h.suppress(email: "gone@example.com", reason: "bounced")
        let r = try await h.client.send(
            "POST", "/v1/Email/",
            json: [
                "Messages": [
                    ["To": "a@example.com", "Type": "token", "BrandId": "brand-1", "Token": "abcde", "NumPhotos": 10],
                    ["To": "bad", "Type": "token", "BrandId": "brand-1", "Token": "abcde", "NumPhotos": 10],
                    ["To": "b@example.com", "Type": "group", "BrandId": "brand-1"],
                    ["To": "c@example.com", "Type": "tokenAndGroup", "BrandId": "brand-1", "Token": "t", "NumPhotos": -1, "GroupId": "g1"],
                    ["To": "d@example.com", "Type": "token", "BrandId": "unknown", "Token": "t", "NumPhotos": 1],
                    ["To": "gone@example.com", "Type": "group", "BrandId": "brand-1", "GroupId": "g"],
                    ["To": "e@example.com", "Type": "purchase", "BrandId": "brand-1"],
                ]
            ])
        #expect(r.status == 200, "\(r.text)")
        let results = try #require(r.json["Results"]?.arrayValue)
        #expect(results.map { $0["Status"]?.intValue } == [200, 400, 400, 200, 400, 422, 400])
        #expect(results[1]["Error"]?.stringValue?.hasPrefix("To is not a valid email address") == true)
        #expect(results[2]["Error"] == "GroupId is required for Type group")
        #expect(results[4]["Error"] == "BrandId names an unknown brand")
        #expect(results[5]["Error"] == "the recipient is suppressed (bounced)")
        #expect(results[6]["Error"] == "Type must be one of token, group, tokenAndGroup")
        let first = try #require(results[0]["MessageId"]?.stringValue)
        #expect(UUID(uuidString: first) != nil)
        #expect(results[0]["Error"] == nil)

        let events = try await h.waitForEvent(first, "message.sent")
        #expect(events[0].data["email_type"] == "token")
        #expect(events[0].data["brand_id"] == "brand-1")
        #expect(events[0].data["message_id"] == .string(first))
        let mails = try await waitForMail(smtp, count: 2)
        let toA = try #require(mails.first { $0.to.first?.address == "a@example.com" })
        #expect(toA.subject == "Token abcde")
        #expect(toA.html?.contains("10 photos, group ") == true)
        #expect(toA.from == [.init(name: "Photos Inc", address: "hello@photos.example")])
        #expect(toA.reply_to.map(\.address) == ["support@photos.example"])
        #expect(toA.headers["List-Unsubscribe"] == "<mailto:unsub@photos.example>")
        let toC = try #require(mails.first { $0.to.first?.address == "c@example.com" })
        #expect(toC.html?.contains("-1 photos, group g1") == true)

        // Whole-request errors use {"Error": ...}.
        for body: [UInt8] in [Array("{".utf8), Array("{}".utf8), Array(#"{"Messages": []}"#.utf8)] {
            let bad = try await h.client.send("POST", "/v1/Email/", body: body, headers: [("Content-Type", "application/json")])
            #expect(bad.status == 400)
            #expect(bad.json["Error"]?.stringValue != nil)
            #expect(bad.json["success"] == nil)
        }
        let tooMany = JSON.object(["Messages": .array(Array(repeating: ["To": "a@example.com"], count: 101))])
        #expect(try await h.client.send("POST", "/v1/Email/", json: tooMany).status == 400)
        await h.shutdown()
        smtp.stop()
    }

    @Test func resendSendsTheSameLogAgain() async throws {
        let smtp = try SMTPFixture()
        let h = try await DeliveryHarness.start(smtpPort: smtp.port)
        let id = try await h.createTemplate(subject: "Receipt", html: "<p>thanks</p>")
        let r = try await h.client.send("POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "r@example.com"]])
        let logID = try #require(r.json["receipt_id"]?.stringValue)
        _ = try await h.waitForEvent(logID, "message.sent")

        let resend = try await h.client.send("POST", "/api/v1/resend", json: ["log_id": .string(logID)])
        #expect(resend.status == 200, "\(resend.text)")
        #expect(resend.json["receipt_id"] == .string(logID))
        #expect(resend.json["email"]?["name"] == "Order Confirmation")
        let events = try await h.waitForEvent(logID, "message.sent", count: 2)
        #expect(
            events.map(\.type) == [
                "message.requested", "message.queued", "message.sent", "message.resend_requested", "message.queued",
                "message.sent",
            ])
        #expect(events[3].data["status"] == "requested")
        #expect(events[3].data["message"] == "resend requested")
        let mails = try await waitForMail(smtp, count: 2)
        #expect(mails.count == 2)
        #expect(mails.allSatisfy { $0.message_id == "<\(logID)@mail.test>" })

        #expect(try await h.client.send("POST", "/resend", json: ["log_id": "log_0123456789abcdef0123456789abcdef"]).status == 404)
        #expect(try await h.client.send("POST", "/resend", json: ["log_id": "nonsense"]).status == 404)
        #expect(try await h.client.send("POST", "/resend", json: [:]).status == 400)
        #expect(try await h.other.send("POST", "/resend", json: ["log_id": .string(logID)]).status == 404)
        await h.shutdown()
        smtp.stop()
    }

    @Test func idempotencyKeyReplaysWithoutAppending() async throws {
        let h = try await DeliveryHarness.start()
        let id = try await h.createTemplate(subject: "s", html: "h")
        let body: JSON = ["email_id": .string(id), "recipient": ["address": "i@example.com"]]
        let first = try await h.client.send("POST", "/send", json: body, headers: [("Idempotency-Key", "k1")])
        let second = try await h.client.send("POST", "/send", json: body, headers: [("Idempotency-Key", "k1")])
        #expect(first.status == 200)
        #expect(second.status == 200)
        #expect(second.header("Idempotent-Replayed") == "true")
        #expect(first.json["receipt_id"] == second.json["receipt_id"])
        let logID = try #require(first.json["receipt_id"]?.stringValue)
        let events = try await h.messageEvents(logID)
        #expect(events.filter { $0.type == "message.requested" }.count == 1)
        let other = try await h.client.send(
            "POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "j@example.com"]],
            headers: [("Idempotency-Key", "k1")])
        #expect(other.status == 422)

        let batch: JSON = ["Messages": [["To": "a@example.com", "Type": "group", "BrandId": "none", "GroupId": "g"]]]
        let b1 = try await h.client.send("POST", "/v1/Email/", json: batch, headers: [("Idempotency-Key", "k2")])
        let b2 = try await h.client.send("POST", "/v1/Email/", json: batch, headers: [("Idempotency-Key", "k2")])
        #expect(b1.json == b2.json)
        #expect(b2.header("Idempotent-Replayed") == "true")
        await h.shutdown()
    }

    @Test func suppressedRecipientsAreRefusedUntilLifted() async throws {
        let h = try await DeliveryHarness.start()
        let id = try await h.createTemplate(subject: "s", html: "h")
        try await h.suppress(email: "Spam@Example.com", reason: "reported_as_spam")
        let refused = try await h.client.send("POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "spam@example.com"]])
        #expect(refused.status == 422)
        #expect(refused.json["error"] == "the recipient is suppressed (reported_as_spam)")
        // Other tenants are not affected.
        let otherTemplate = try await h.createTemplate(subject: "s", html: "h", client: h.other)
        let elsewhere = try await h.other.send(
            "POST", "/send", json: ["email_id": .string(otherTemplate), "recipient": ["address": "spam@example.com"]])
        #expect(elsewhere.status == 200)

        let list = try await h.client.send("GET", "/suppressions")
        #expect(list.status == 200)
        #expect(list.json["suppressions"]?.arrayValue?.map { $0["email"] } == ["Spam@Example.com"])
        #expect(list.json["suppressions"]?.arrayValue?.first?["reason"] == "reported_as_spam")
        #expect(try await h.other.send("GET", "/suppressions").json["suppressions"] == .array([]))
        #expect(try await h.other.send("DELETE", "/suppressions/spam@example.com").status == 404)

        let lifted = try await h.client.send("DELETE", "/suppressions/SPAM%40example.com")
        #expect(lifted.status == 200, "\(lifted.text)")
        #expect(try await h.client.send("GET", "/suppressions").json["suppressions"] == .array([]))
        #expect(try await h.client.send("DELETE", "/suppressions/spam@example.com").status == 404)
        let allowed = try await h.client.send("POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "spam@example.com"]])
        #expect(allowed.status == 200)
        // The lift is audited in the table, without the address.
        var lift: [String] = []
        _ = try await eventually {
            let all = try await h.app.store.read(after: .start, limit: 1000)
            lift = all.filter { $0.type == "suppression.lifted" }.map { $0.data.text }
            return !lift.isEmpty
        }
        #expect(lift.count == 1)
        #expect(lift.first?.contains("site1") == true)
        #expect(lift.first?.lowercased().contains("spam@example.com") == false)
        await h.shutdown()
    }
}
