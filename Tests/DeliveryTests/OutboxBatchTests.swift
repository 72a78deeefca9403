@testable import DeliveryService
import Domain
import EventStore
import Foundation
import JSON
import Postgres
import TestSupport
import Testing

@Suite("Outbox batches (pure)")
struct OutboxTransitionRulesTests {
    func move(_ hex: String, _ version: Int64, _ type: String, tenant: String = "site1", data: JSON = .null) -> OutboxMove {
        OutboxMove(tenant: tenant, messageHex: hex, version: version, type: type, data: data)
    }

    @Test("a move that does nothing, or whose every column a later move of its message sets, is left out, and nothing else")
    func overwrittenMoves() {
        func kept(_ moves: [OutboxMove]) -> [String] {
            OutboxTransitions.withoutOverwritten(moves).map { "\($0.messageHex)@\($0.version)" }
        }
        let retry: JSON = ["attempt": 1, "next_retry_at": 1_500]
        // A claim leaves the row as it is: left out. queued then sent: the removal alone.
        #expect(kept([move("a", 2, EventCatalog.messageQueued), move("a", 3, EventCatalog.messageSent)]) == ["a@3"])
        // The request is an insert: always kept.
        #expect(
            kept([
                move("a", 1, EventCatalog.messageRequested), move("a", 2, EventCatalog.messageQueued),
                move("a", 3, EventCatalog.messageSent),
            ]) == ["a@1", "a@3"])
        #expect(kept([move("a", 2, EventCatalog.messageQueued)]) == [])
        // queued, failed_to_send, queued: the retry alone; with a final sent, the removal alone.
        #expect(
            kept([
                move("a", 2, EventCatalog.messageQueued), move("a", 3, EventCatalog.messageFailedToSend, data: retry),
                move("a", 4, EventCatalog.messageQueued),
            ]) == ["a@3"])
        #expect(
            kept([
                move("a", 2, EventCatalog.messageQueued), move("a", 3, EventCatalog.messageFailedToSend, data: retry),
                move("a", 4, EventCatalog.messageQueued), move("a", 5, EventCatalog.messageSent),
            ]) == ["a@5"])
        // A resend makes the message due again: kept, and it keeps the removal before it unless a
        // later removal overwrites that one.
        #expect(kept([move("a", 3, EventCatalog.messageSent), move("a", 4, EventCatalog.messageResendRequested)]) == ["a@3", "a@4"])
        #expect(
            kept([
                move("a", 3, EventCatalog.messageSent), move("a", 4, EventCatalog.messageResendRequested),
                move("a", 5, EventCatalog.messageQueued), move("a", 6, EventCatalog.messageDropped),
            ]) == ["a@4", "a@6"])
        // A provider event only moves the version: any later move overwrites it, it overwrites nothing.
        #expect(kept([move("a", 4, "message.delivered"), move("a", 5, EventCatalog.messageSent)]) == ["a@5"])
        #expect(kept([move("a", 3, EventCatalog.messageSent), move("a", 4, "message.delivered")]) == ["a@3", "a@4"])
        // A provider event before a retry: the retry sets more, so the provider event goes.
        #expect(
            kept([move("a", 3, "message.delivery_delayed"), move("a", 4, EventCatalog.messageFailedToSend, data: retry)])
                == ["a@4"])
        // Other messages are not involved; order is kept.
        #expect(
            kept([
                move("a", 2, EventCatalog.messageFailedToSend, data: retry), move("b", 2, EventCatalog.messageQueued),
                move("b", 3, EventCatalog.messageSent), move("c", 1, EventCatalog.messageRequested),
            ]) == ["a@2", "b@3", "c@1"])
    }

    @Test("a batch splits into layers where each message appears once, in its own order")
    func layers() {
        let moves = [
            move("a", 1, EventCatalog.messageRequested), move("b", 1, EventCatalog.messageRequested),
            move("a", 2, EventCatalog.messageQueued), move("a", 3, EventCatalog.messageSent),
            move("b", 1, EventCatalog.messageRequested, tenant: "site2"), move("b", 2, EventCatalog.messageQueued),
        ]
        let layers = OutboxTransitions.layers(moves)
        #expect(layers.map { $0.map { "\($0.tenant)/\($0.messageHex)@\($0.version)" } } == [
            ["site1/a@1", "site1/b@1", "site2/b@1"], ["site1/a@2", "site1/b@2"], ["site1/a@3"],
        ])
    }

    @Test("each event's effect on the row")
    func effects() {
        #expect(OutboxTransitions.effect(move("a", 1, EventCatalog.messageRequested)) == .makeDue)
        #expect(OutboxTransitions.effect(move("a", 1, EventCatalog.messageTriggered)) == .makeDue)
        #expect(OutboxTransitions.effect(move("a", 4, EventCatalog.messageResendRequested)) == .makeDue)
        // A claim leaves the row as it is (the worker's in-flight set holds the message).
        #expect(OutboxTransitions.effect(move("a", 2, EventCatalog.messageQueued)) == .unchanged)
        #expect(
            OutboxTransitions.effect(move("a", 3, EventCatalog.messageFailedToSend, data: ["attempt": 2, "next_retry_at": 1_500]))
                == .change(.init(state: "pending", clearsLease: true, dueSeconds: 1.5, attempts: 2)))
        // A finished message leaves the outbox.
        #expect(OutboxTransitions.effect(move("a", 3, EventCatalog.messageSent)) == .remove)
        #expect(OutboxTransitions.effect(move("a", 3, EventCatalog.messageDropped)) == .remove)
        // A provider event only moves the version.
        #expect(OutboxTransitions.effect(move("a", 5, "message.provider_event")) == .change(.init()))
    }
}

@Suite("Triggered messages name their template (pure)")
struct TriggeredTemplateTests {
    let template = TemplateRecord(
        id: "tem_1", name: "Welcome", defaultLocale: "en-US", created: 0,
        versions: [
            TemplateVersionRecord(id: "ver_en1", name: "v1", subject: "s", html: "h", text: nil, locale: "en-US", created: 0),
            TemplateVersionRecord(id: "ver_fr1", name: "v1-fr", subject: "s", html: "h", text: nil, locale: "fr-FR", created: 1),
            TemplateVersionRecord(id: "ver_en2", name: "v2", subject: "s", html: "h", text: nil, locale: "en-US", created: 2),
        ])

    @Test("the requested locale's newest version, else the customer's, else the default")
    func versionByLocale() {
        let fr = TriggeredTemplate.named(["template_id": "tem_1", "locale": "fr-FR"], template: template, customerLocale: nil)
        #expect(fr["template_name"] == "Welcome")
        #expect(fr["template_version"] == "v1-fr")
        #expect(fr["template_version_id"] == "ver_fr1")
        let customer = TriggeredTemplate.named(["template_id": "tem_1", "locale": ""], template: template, customerLocale: "fr-FR")
        #expect(customer["template_version_id"] == "ver_fr1")
        let fallback = TriggeredTemplate.named(["template_id": "tem_1", "locale": "de-DE"], template: template, customerLocale: nil)
        #expect(fallback["template_version"] == "v2")
        #expect(fallback["locale"] == "en-US")
        // Unknown template: nothing changes (the outbox records why it cannot send).
        let clear: JSONObject = ["template_id": "tem_gone", "template_name": "", "locale": "en-US"]
        #expect(TriggeredTemplate.named(clear, template: nil, customerLocale: nil) == clear)
    }

    @Test("a brand trigger takes the brand's template of its email type")
    func brandTemplate() {
        let brand: JSONObject = ["templates": ["purchase": "tem_9"]]
        #expect(TriggeredTemplate.templateID(["template_id": "", "email_type": "purchase"], brand: brand) == "tem_9")
        #expect(TriggeredTemplate.templateID(["template_id": "tem_1", "email_type": "purchase"], brand: brand) == "tem_1")
        #expect(TriggeredTemplate.templateID(["template_id": "", "email_type": "group"], brand: brand) == nil)
    }

    @Test("a suppression's cancellation reason names why and who")
    func suppressionReason() {
        #expect(TriggerProjection.suppressionReason(["reason": "bounced", "source": "sendgrid"]) == "recipient suppressed (bounced, sendgrid)")
        #expect(TriggerProjection.suppressionReason(["reason": "unsubscribed"]) == "recipient suppressed (unsubscribed)")
        #expect(TriggerProjection.suppressionReason([:]) == "recipient suppressed")
    }
}

@Suite("Outbox worker in batches")
struct OutboxBatchWorkerTests {
    @Test("250 messages from /v1/Email/ (more than two batches) each reach the SMTP server once, in parallel sessions")
    func manyMessagesEachSentOnce() async throws {
        let smtp = try SMTPFixture()
        let h = try await DeliveryHarness.start(smtpPort: smtp.port)
        do {
            let templateID = try await h.createTemplate(subject: "Token {{Token}}", html: "<p>{{NumPhotos}} photos</p>")
            try await h.putBrand("acme", templateID: templateID)
            var ids: [String] = []
            for part in 0..<5 {
                let messages: [JSON] = (0..<50).map { j in
                    [
                        "To": .string("r\(part)-\(j)@example.com"), "Type": "token", "BrandId": "acme",
                        "Token": .string("t\(part)-\(j)"), "NumPhotos": .int(j),
                    ]
                }
                let r = try await h.client.send("POST", "/v1/Email/", json: ["Messages": .array(messages)])
                try #require(r.status == 200, "\(r.text)")
                ids += (r.json["Results"]?.arrayValue ?? []).compactMap { $0["MessageId"]?.stringValue }
            }
            #expect(ids.count == 250)
            let mail = try await waitForMail(smtp, count: 250, timeout: .seconds(60))
            #expect(mail.count == 250)
            // Each recipient once, rendered with its own data.
            #expect(Set(mail.flatMap(\.rcpt_tos)).count == 250)
            #expect(mail.allSatisfy { $0.subject == "Token " + ($0.rcpt_tos.first ?? "").replacingOccurrences(of: "@example.com", with: "").replacingOccurrences(of: "r", with: "t") })
            // Every log: requested, queued, sent, and nothing else.
            let rows = try await h.app.store.pool.execute(
                "SELECT type, count(*) FROM events WHERE stream LIKE 'message-%' GROUP BY type ORDER BY type")
            #expect(rows.rows.map { [$0[0] ?? "", $0[1] ?? ""] } == [
                ["message.queued", "250"], ["message.requested", "250"], ["message.sent", "250"],
            ])
            // Finished messages leave the outbox: nothing is left to do.
            let emptied = try await eventually {
                try await h.app.store.pool.execute("SELECT count(*) FROM delivery_outbox")[0].int(0) == 0
            }
            #expect(emptied)
            // The SMTP sessions were reused: far fewer connections than messages.
            #expect(Set(mail.map(\.peer_port)).count <= 2)
        } catch {
            Issue.record(error)
        }
        await h.shutdown()
        smtp.stop()
    }
}

@Suite("Provider message ids in SMTP replies (pure)")
struct ProviderMessageIDTests {
    @Test func findsTheQueuedID() {
        #expect(RetryPolicy.providerMessageID(in: "250 2.0.0 Ok: queued as B00000042") == "B00000042")
        #expect(RetryPolicy.providerMessageID(in: "250 2.0.0 Ok: queued as ABC123 (more)") == "ABC123")
        #expect(RetryPolicy.providerMessageID(in: "250 ok queued as X\n250 second line") == "X")
        #expect(RetryPolicy.providerMessageID(in: "250 d\u{E9}j\u{E0} queued as \u{E9}t\u{E9} ok") == "\u{E9}t\u{E9}")
        #expect(RetryPolicy.providerMessageID(in: "250 2.0.0 Ok: queued as ") == nil)
        #expect(RetryPolicy.providerMessageID(in: "250 2.0.0 Ok") == nil)
        #expect(RetryPolicy.providerMessageID(in: "") == nil)
    }
}

@Suite("Outbox migration")
struct OutboxMigrationTests {
    @Test("migration 3 removes finished messages' rows and the columns nothing read, and keeps the live work")
    func finishedRowsGo() throws {
        let connection = try database(migratedBefore: 3, component: DeliveryService.name, migrations: DeliverySchema.migrations)
        defer { connection.close() }
        for (hex, state) in [("a", "pending"), ("b", "sending"), ("c", "sent"), ("d", "dropped")] {
            try connection.execute(
                """
                INSERT INTO delivery_outbox (tenant, message_hex, state, due_at, version, template_id, template_name,
                    version_name, locale, recipient_subject, created_at)
                VALUES ('site1', $1, $2, now(), 2, 'tem_1', 'Welcome', 'v1', 'en-US', 'subject', 0)
                """, [hex, state])
        }
        try Migrator.migrate(connection, component: DeliveryService.name, migrations: DeliverySchema.migrations)
        let rows = try connection.execute("SELECT message_hex, state FROM delivery_outbox ORDER BY message_hex")
        #expect(rows.rows.map { [$0[0] ?? "", $0[1] ?? ""] } == [["a", "pending"], ["b", "sending"]])
        let columns = try connection.execute(
            """
            SELECT column_name FROM information_schema.columns WHERE table_name = 'delivery_outbox'
            ORDER BY ordinal_position
            """)
        #expect(
            columns.rows.map { $0[0] ?? "" } == ["tenant", "message_hex", "state", "due_at", "lease_until", "attempts", "version"])
    }
}

@Suite("Send decisions as recorded (pure)")
struct SendDecisionRecordingTests {
    @Test("the server's text is recorded without the addresses it quotes; the provider id stays")
    func addressesAreTakenOutOfServerText() {
        let sent = SendDecision.sent(reply: "250 2.0.0 Ok: queued for <jane@example.com>", providerMessageID: "ABC@mx")
        #expect(sent.withoutAddresses == .sent(reply: "250 2.0.0 Ok: queued for <[address]>", providerMessageID: "ABC@mx"))
        let retry = SendDecision.retry(reason: "452 4.2.2 jane@example.com: mailbox full", attempt: 2, nextRetryAtMilliseconds: 7)
        #expect(retry.withoutAddresses == .retry(reason: "452 4.2.2 [address]: mailbox full", attempt: 2, nextRetryAtMilliseconds: 7))
        let drop = SendDecision.drop(reason: "550 5.1.1 <Jane@Example.com>: Recipient address rejected")
        #expect(drop.withoutAddresses == .drop(reason: "550 5.1.1 <[address]>: Recipient address rejected"))
    }
}
