import EventStore
import Foundation
import JSON
import TestSupport
import Testing

/// Issue 6's loop end to end: a customer written through `ingest`, a send through `delivery`,
/// the real mail at the SMTP server, the provider's signed webhooks for that mail, and the
/// timeline, status and history read back from `query`.
@Suite struct SendToTimelineTests {
    @Test func aSentMailsWebhooksShowUpAsItsTimelineInQuery() async throws {
        let p = try await Platform.start()
        do {
            let template = try await p.sender.send(
                "POST", "/templates",
                json: ["name": "Welcome", "subject": "Hi {{first_name}}", "html": "<p>Hello {{first_name}} from {{city}}</p>"])
            try #require(template.status == 200, "\(template.text)")
            let templateID = try #require(template.json["id"]?.stringValue)

            let created = try await p.writer.send(
                "POST", "/customers", json: ["email": "ann@example.com", "data": ["first_name": "Ann", "city": "Oslo"]])
            try #require(created.status == 200)
            // The renderer reads delivery's own customer projection: wait until it has the write.
            try await p.delivery.waitForConsistency(try #require(Checkpoint(token: created.header("X-Consistency-Token") ?? "")))

            let sent = try await p.sender.send(
                "POST", "/send",
                json: ["email_id": .string(templateID), "recipient": ["address": "ann@example.com"], "email_data": ["city": "Bergen"]])
            try #require(sent.status == 200, "\(sent.text)")
            let logID = try #require(sent.json["receipt_id"]?.stringValue)

            // The real mail, rendered from the profile with the request's data over it.
            let mail = try #require(try await p.mail(count: 1).first)
            #expect(mail.subject == "Hi Ann")
            #expect(mail.html?.contains("Hello Ann from Bergen") == true)
            #expect(mail.message_id == "<\(logID)@\(Platform.fromDomain)>")
            let sentLog = try await p.read("/logs/\(logID)") { $0.json["status"] == "sent" }
            #expect(sentLog.json["status"] == "sent")
            #expect(sentLog.json["recipient_address"] == "ann@example.com")

            // SendGrid reports on it: matched once by our log_id, once by the Message-ID it saw.
            let hooks = try await p.postSendGrid([
                sendGridEvent("processed", email: "ann@example.com", logID: logID),
                sendGridEvent("delivered", email: "ann@example.com", smtpID: mail.message_id),
                sendGridEvent("open", email: "ann@example.com", logID: logID),
                sendGridEvent("click", email: "ann@example.com", logID: logID, extra: ["url": "https://example.com/a"]),
                sendGridEvent("open", email: "ann@example.com", smtpID: mail.message_id),
            ])
            #expect(hooks.status == 200, "\(hooks.text)")
            let token = try #require(hooks.header("X-Consistency-Token"))

            let log = try await p.reader.send("GET", "/logs/\(logID)", headers: [("X-Consistency-Token", token)])
            #expect(log.status == 200)
            #expect(log.json["status"] == "re_opened")
            #expect(log.json["message"] == "SendGrid: Message has been opened again")
            let timeline = try await p.reader.send("GET", "/logs/\(logID)/events", headers: [("X-Consistency-Token", token)])
            #expect(
                timeline.json.arrayValue?.compactMap { $0["type"]?.stringValue }
                    == ["requested", "queued", "sent", "processed", "delivered", "opened", "clicked", "re_opened"])

            // The customer's logs show it, and the sendwithus log id is also the /v1 MessageId.
            let logs = try await p.reader.send("GET", "/customers/ann@example.com/logs", headers: [("X-Consistency-Token", token)])
            #expect(logs.json["logs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [logID])
            let history = try await p.reader.send("GET", "/v1/Email/?Email=ann@example.com", headers: [("X-Consistency-Token", token)])
            let email = history.json["Emails"]?.arrayValue?.first
            #expect(email?["State"] == "delivered")
            #expect(email?["MessageId"]?.stringValue?.replacingOccurrences(of: "-", with: "") == String(logID.dropFirst(4)))

            // A permanent bounce on a second mail: bounced in the history, and the address is
            // suppressed, so a third send is refused up front.
            let second = try await p.sender.send(
                "POST", "/send", json: ["email_id": .string(templateID), "recipient": ["address": "ann@example.com"]])
            let secondLog = try #require(second.json["receipt_id"]?.stringValue)
            let secondMail = try #require(try await p.mail(count: 2).last)
            #expect(secondMail.message_id == "<\(secondLog)@\(Platform.fromDomain)>")
            _ = try await p.read("/logs/\(secondLog)") { $0.json["status"] == "sent" }
            let bounce = try await p.postSendGrid([
                sendGridEvent(
                    "bounce", email: "ann@example.com", smtpID: secondMail.message_id,
                    extra: ["type": "bounce", "reason": "550 5.1.1 no such user", "status": "5.1.1"])
            ])
            #expect(bounce.status == 200)
            let bounced = try await p.reader.send(
                "GET", "/logs/\(secondLog)", headers: [("X-Consistency-Token", bounce.header("X-Consistency-Token") ?? "")])
            #expect(bounced.json["status"] == "bounced")
            let refused = try await eventually {
                try await p.sender.send(
                    "POST", "/send", json: ["email_id": .string(templateID), "recipient": ["address": "ann@example.com"]]
                ).status == 422
            }
            #expect(refused, "a send to a permanently bounced address is refused")
            #expect(try p.smtp.received().count == 2)
        } catch {
            await p.stop()
            throw error
        }
        await p.stop()
    }
}
