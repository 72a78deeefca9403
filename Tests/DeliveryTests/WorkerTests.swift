@testable import DeliveryService
import Crypto
import Domain
import Foundation
import EventStore
import JSON
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct WorkerTests {
    /// Sends one message through `/send` and returns its log id.
    func sendOne(_ h: DeliveryHarness, _ templateID: String, to: String = "x@example.com") async throws -> String {
        let r = try await h.client.send("POST", "/send", json: ["email_id": .string(templateID), "recipient": ["address": .string(to)]])
        try #require(r.status == 200, "\(r.text)")
        return try #require(r.json["receipt_id"]?.stringValue)
    }

    @Test func temporaryFailureIsRetriedThenSent() async throws {
        let smtp = try SMTPFixture(mode: .failFirst)
        let h = try await DeliveryHarness.start(smtpPort: smtp.port, maxAttempts: 5)
        let id = try await h.createTemplate(subject: "s", html: "h")
        let logID = try await sendOne(h, id)
        let events = try await h.waitForEvent(logID, "message.sent")
        #expect(
            events.map(\.type) == [
                "message.requested", "message.queued", "message.failed_to_send", "message.queued", "message.sent",
            ])
        let failed = events[2].data
        #expect(failed["status"] == "failed_to_send")
        #expect(failed["attempt"] == 1)
        #expect(failed["reason"]?.stringValue?.contains("451") == true)
        let occurred = try #require(failed["occurred_at"]?.intValue)
        let next = try #require(failed["next_retry_at"]?.intValue)
        #expect(next >= occurred + 90 && next <= occurred + 250)
        #expect(try await waitForMail(smtp, count: 1).count == 1)
        await h.shutdown()
        smtp.stop()
    }

    @Test func permanentFailureIsDroppedAtOnce() async throws {
        let smtp = try SMTPFixture(mode: .reject)
        let h = try await DeliveryHarness.start(smtpPort: smtp.port, maxAttempts: 5)
        let id = try await h.createTemplate(subject: "s", html: "h")
        let logID = try await sendOne(h, id)
        let events = try await h.waitForEvent(logID, "message.dropped")
        #expect(events.map(\.type) == ["message.requested", "message.queued", "message.dropped"])
        let reason = try #require(events[2].data["reason"]?.stringValue)
        #expect(reason.contains("550"))
        #expect(events[2].data["message"] == .string(reason))
        #expect(events[2].data["status"] == "dropped")
        #expect(try smtp.received().isEmpty)
        await h.shutdown()
        smtp.stop()
    }

    @Test func serverDownIsRetriedUntilItComesBack() async throws {
        let port = try freeLoopbackPort()
        let h = try await DeliveryHarness.start(smtpPort: port, maxAttempts: 8, retryBase: "0.3")
        let id = try await h.createTemplate(subject: "s", html: "h")
        let logID = try await sendOne(h, id)
        let events = try await h.waitForEvent(logID, "message.failed_to_send")
        let failed = try #require(events.first { $0.type == "message.failed_to_send" }?.data)
        #expect(failed["attempt"] == 1)
        #expect((failed["next_retry_at"]?.intValue ?? 0) > (failed["occurred_at"]?.intValue ?? .max))
        #expect(failed["reason"]?.stringValue?.isEmpty == false)
        let smtp = try SMTPFixture(port: port)
        let after = try await h.waitForEvent(logID, "message.sent")
        #expect(after.filter { $0.type == "message.queued" }.count == after.filter { $0.type == "message.failed_to_send" }.count + 1)
        #expect(try await waitForMail(smtp, count: 1).count == 1)
        await h.shutdown()
        smtp.stop()
    }

    @Test func givesUpAfterTheLastAttempt() async throws {
        let port = try freeLoopbackPort()
        let h = try await DeliveryHarness.start(smtpPort: port, maxAttempts: 2, retryBase: "0.1")
        let id = try await h.createTemplate(subject: "s", html: "h")
        let logID = try await sendOne(h, id)
        let events = try await h.waitForEvent(logID, "message.dropped")
        #expect(
            events.map(\.type) == [
                "message.requested", "message.queued", "message.failed_to_send", "message.queued", "message.dropped",
            ])
        #expect(events[4].data["reason"]?.stringValue?.hasPrefix("gave up after 2 attempts") == true)
        await h.shutdown()
    }

    @Test func slowProviderDoesNotStallHTTP() async throws {
        // A provider that takes connections and never answers; with a 30 s command timeout the
        // sends hang on it until the test hangs up.
        let provider = try SilentServer()
        defer { provider.stop() }  // also when an expectation throws
        let h = try await DeliveryHarness.start(smtpPort: provider.port, smtpTimeout: 30)
        let id = try await h.createTemplate(subject: "s", html: "h")
        var hanging = ""
        for _ in 0..<3 { hanging = try await sendOne(h, id) }
        _ = try await h.waitForEvent(hanging, "message.queued")
        // Sends are hanging on the silent server; the API still answers, and it answered while
        // they hung (no timing: that message has no outcome yet, which it would have if
        // the API had waited for the provider).
        let more = try await sendOne(h, id)
        let list = try await h.client.send("GET", "/templates")
        #expect(list.status == 200)
        #expect(try await h.messageEvents(more).first?.type == "message.requested")
        #expect(try await h.messageEvents(hanging).map(\.type) == ["message.requested", "message.queued"])
        // Hanging up ends the sends (a temporary failure each), so the worker stops at once.
        provider.stop()
        _ = try await h.waitForEvent(hanging, "message.failed_to_send")
        await h.shutdown()
    }

    @Test func oneActiveWorkerPerDatabaseAndStandbyTakesOver() async throws {
        let smtp = try SMTPFixture()
        let database = try TestPostgres.makeDatabase()
        // Replicas share the database and the master key.
        let masterKey = MasterKeyring.generateEntry(id: "shared")
        let a = try await DeliveryHarness.start(smtpPort: smtp.port, databaseURL: database, masterKey: masterKey)
        let id = try await a.createTemplate(subject: "n{{n}}", html: "h")
        // `a` is alone, so its worker leads; `b` starts as a standby.
        _ = try await a.waitForEvent(try await sendOne(a, id), "message.sent")
        let b = try await DeliveryHarness.start(smtpPort: smtp.port, databaseURL: database, masterKey: masterKey)
        var logs: [String] = []
        for n in 0..<10 {
            let client = n % 2 == 0 ? a.client : b.client
            let r = try await client.send(
                "POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "m@example.com"], "email_data": ["n": .int(n)]])
            try #require(r.status == 200, "\(r.text)")
            logs.append(try #require(r.json["receipt_id"]?.stringValue))
        }
        for log in logs { _ = try await a.waitForEvent(log, "message.sent") }
        let mails = try await waitForMail(smtp, count: 11)
        #expect(mails.count == 11)
        #expect(Set(mails.map(\.subject)).count == 11)
        for log in logs {
            #expect(try await a.messageEvents(log).filter { $0.type == "message.queued" }.count == 1)
        }
        // Stop the leader; the standby takes the lock (it retries every second) and sends.
        await a.shutdown()
        let r = try await b.client.send("POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "late@example.com"]])
        let late = try #require(r.json["receipt_id"]?.stringValue)
        _ = try await b.waitForEvent(late, "message.sent")
        #expect(try await waitForMail(smtp, count: 12).count == 12)
        await b.shutdown()
        smtp.stop()
    }
}

extension WorkerTests {
    /// Four messages in one `/v1/Email/` request, so one batch claims them all (with
    /// `MAIL_CONCURRENCY` 1 they then go out one at a time); their log ids.
    func requestFourInOneBatch(_ h: DeliveryHarness) async throws -> [String] {
        let id = try await h.createTemplate(subject: "s", html: "h")
        try await h.putBrand("acme", templateID: id)
        let messages: [JSON] = (0..<4).map { n in
            ["To": .string("r\(n)@example.com"), "Type": "token", "BrandId": "acme", "Token": "t", "NumPhotos": 1]
        }
        let r = try await h.client.send("POST", "/v1/Email/", json: ["Messages": .array(messages)])
        try #require(r.status == 200, "\(r.text)")
        let logs = (r.json["Results"]?.arrayValue ?? []).compactMap { $0["MessageId"]?.stringValue }
            .map { "log_" + $0.replacingOccurrences(of: "-", with: "").lowercased() }
        try #require(logs.count == 4)
        return logs
    }

    /// Waits until every log is sent, then checks that each mail arrived once and that the
    /// first leader's lead ended with some claims not handed over: claimed once (the one on the
    /// wire) or twice (left to the next term); returns each message's `queued` events.
    func expectEachSentOnceSomeClaimedTwice(_ logs: [String], _ smtp: SMTPFixture, _ h: DeliveryHarness) async throws
        -> [[RecordedEvent]]
    {
        for log in logs { _ = try await h.waitForEvent(log, "message.sent", timeout: .seconds(30)) }
        let received = try smtp.received().map(\.message_id)
        for log in logs {
            #expect(received.filter { $0 == "<\(log)@\(DeliveryHarness.fromDomain)>" }.count == 1, "\(log): \(received)")
        }
        var claims: [[RecordedEvent]] = []
        for log in logs { claims.append(try await h.messageEvents(log).filter { $0.type == "message.queued" }) }
        let counts = claims.map(\.count)
        #expect(counts.contains(1) && counts.contains(2) && counts.allSatisfy { (1...2).contains($0) }, "claims: \(counts)")
        return claims
    }

    /// The worker's lock session ends while a batch is on the wire (a database restart, a dropped
    /// connection): the batch hands nothing more to the transport, and the claims it leaves are
    /// taken over, by whichever worker leads next, only after `takeoverGrace` — each mail goes
    /// out once. Before, the batch went on sending what it had claimed while a new leader took
    /// the same claims over at once.
    @Test func aBatchStopsSendingWhenItsLeaderLosesTheLock() async throws {
        let smtp = try SMTPFixture(mode: .slow)  // each 250 held for a second
        let database = try TestPostgres.makeDatabase()
        let h = try await DeliveryHarness.start(smtpPort: smtp.port, databaseURL: database, extra: ["MAIL_CONCURRENCY": "1"])
        let logs = try await requestFourInOneBatch(h)
        _ = try await waitForMail(smtp, count: 1)
        // End the session holding the worker's advisory lock, as a restart would.
        let c = try PostgresConnection(url: database)
        let ended = try c.execute(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_locks
            WHERE locktype = 'advisory' AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND ((classid::bigint << 32) | objid::bigint) = $1
            """, [OutboxWorker.lockKey])
        #expect(ended[0].int(0) == 1)
        // The same worker leads again (it is alone): what it left is taken over no sooner than
        // the grace after the first claim (which preceded the new term).
        for queued in try await expectEachSentOnceSomeClaimedTwice(logs, smtp, h) where queued.count == 2 {
            let gap = queued[1].recordedAt - queued[0].recordedAt
            #expect(gap >= 5, "claimed again after \(gap) s")
        }
        // What /metrics said of it.
        var metrics = ""
        let settled = await eventually {
            metrics = (try? await h.client.send("GET", "/metrics").text) ?? ""
            return metricValue(metrics, "delivery_sends_in_flight") == 0
        }
        #expect(settled, "\(metrics)")
        #expect(metricValue(metrics, #"delivery_send_outcomes_total{type="message.sent"}"#) == 4)
        #expect((metricValue(metrics, "delivery_claims_released_total") ?? 0) >= 1)
        #expect(metricValue(metrics, "delivery_outbox_leader") == 1)
        #expect(metricValue(metrics, "delivery_send_outcomes_unrecorded") == 0)
        await h.shutdown()
        smtp.stop()
    }

    /// A leader that stops (a deploy) finishes the sends already with the transport and hands
    /// over nothing more: what it claimed and had not sent is sent once, by the next leader.
    /// Before, it went on sending its claims while it drained, and one still on the wire when
    /// the drain ran out would be sent again.
    @Test func aStoppingLeaderLeavesItsUnsentClaimsToTheNext() async throws {
        let smtp = try SMTPFixture(mode: .slow)  // each 250 held for a second
        let database = try TestPostgres.makeDatabase()
        let masterKey = MasterKeyring.generateEntry(id: "stopping")
        let settings = ["MAIL_CONCURRENCY": "1"]
        let a = try await DeliveryHarness.start(smtpPort: smtp.port, databaseURL: database, masterKey: masterKey, extra: settings)
        let b = try await DeliveryHarness.start(smtpPort: smtp.port, databaseURL: database, masterKey: masterKey, extra: settings)
        let logs = try await requestFourInOneBatch(a)
        _ = try await waitForMail(smtp, count: 1)
        await a.shutdown()
        _ = try await expectEachSentOnceSomeClaimedTwice(logs, smtp, b)
        await b.shutdown()
        smtp.stop()
    }
}

@Suite struct AbandonedClaimTests {
    /// A stream that ends in `queued` with no outcome is a dead leader's claim; anything after
    /// it (or another version) is not.
    @Test func aQueuedWithNoOutcomeIsAnAbandonedClaim() async throws {
        let h = try await DeliveryHarness.start()
        let store = h.app.store
        // Not a `message-` stream, so the running worker and projections leave it alone.
        let stream = "claim-test-" + String(repeating: "ab", count: 16)
        func append(_ type: String) async throws -> Int64 {
            let r = try await store.append(
                StreamAppend(tenant: "site1", stream: stream, events: [NewEvent(type: type, data: ["n": 1], metadata: .null)]))
            return try #require(r.streams.first?.lastVersion)
        }
        _ = try await append(EventCatalog.messageRequested)
        let queued = try await append(EventCatalog.messageQueued)
        #expect(await MessageSender.endsInAbandonedClaim(store, tenant: "site1", stream: stream, at: queued))
        #expect(!(await MessageSender.endsInAbandonedClaim(store, tenant: "site1", stream: stream, at: queued - 1)))
        #expect(!(await MessageSender.endsInAbandonedClaim(store, tenant: "site2", stream: stream, at: queued)))
        let sent = try await append(EventCatalog.messageSent)
        #expect(!(await MessageSender.endsInAbandonedClaim(store, tenant: "site1", stream: stream, at: sent)))
        await h.shutdown()
    }
}

@Suite struct TransportSecurityAndErasureTests {
    @Test func startTLSAndAuthThroughTheTransportURL() async throws {
        let directory = try TemporaryDirectory()
        let certificate = try ThrowawayCertificate(in: directory)
        let smtp = try SMTPFixture(startTLS: certificate, auth: (user: "mailer", password: "s3cr%t"))
        let h = try await DeliveryHarness.start(
            transport: "smtp://mailer:s3cr%25t@localhost:\(smtp.port)?tls=required&ca=\(certificate.certificatePath)&timeout=5")
        let id = try await h.createTemplate(subject: "Secure", html: "<p>tls</p>")
        let r = try await h.client.send("POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "t@example.com"]])
        let logID = try #require(r.json["receipt_id"]?.stringValue)
        _ = try await h.waitForEvent(logID, "message.sent")
        let mail = try #require(try await waitForMail(smtp, count: 1).first)
        #expect(mail.tls)
        #expect(mail.authenticated)
        #expect(mail.subject == "Secure")
        await h.shutdown()
        smtp.stop()
    }

    @Test func erasedRecipientsAreNotRenderedOrSent() async throws {
        let smtp = try SMTPFixture()
        let h = try await DeliveryHarness.start(smtpPort: smtp.port)
        let id = try await h.createTemplate(subject: "Hi {{first_name}}", html: "h")
        try await h.addCustomer(email: "erase@example.com", attributes: ["first_name": "Eve"])
        let r = try await h.client.send("POST", "/send", json: ["email_id": .string(id), "recipient": ["address": "erase@example.com"]])
        let logID = try #require(r.json["receipt_id"]?.stringValue)
        _ = try await h.waitForEvent(logID, "message.sent")
        #expect(try await waitForMail(smtp, count: 1).first?.subject == "Hi Eve")

        // Erase the customer as ingest does: destroy the key, append the tombstone.
        let app = h.app
        let subject = try #require(try await h.messageEvents(logID).first?.data["recipient_subject"]?.stringValue)
        try await app.store.pool.withConnection { c in _ = try app.vault.destroyKey(tenant: "site1", subjectHash: subject, on: c) }
        let tomb = try await app.store.append(
            StreamAppend(
                tenant: "site1", stream: "customer-" + subject,
                events: [
                    NewEvent(
                        type: "customer.deleted",
                        data: ["subject": .string(subject), "erased_subjects": [.string(subject)], "occurred_at": 1])
                ]))
        try await app.waitForConsistency(tomb.checkpoint)
        let rows = try await app.store.pool.execute("SELECT count(*) FROM delivery_customers WHERE tenant = 'site1'")
        #expect(rows.rows.first?.int(0) == 0)
        // A resend of the erased recipient's log cannot be opened any more: dropped, not sent.
        let resend = try await h.client.send("POST", "/resend", json: ["log_id": .string(logID)])
        #expect(resend.status == 200)
        let events = try await h.waitForEvent(logID, "message.dropped")
        #expect(events.last?.data["reason"] == "the recipient's data was erased")
        #expect(try smtp.received().count == 1)
        await h.shutdown()
        smtp.stop()
    }
}

@Suite struct LeadershipTermTests {
    @Test func aTermTakesOverClaimsOnlyAfterItsGraceAndEndsOnce() {
        let began = ContinuousClock.now
        let term = LeadershipTerm(began: began, takeoverGrace: .seconds(5))
        #expect(term.isCurrent)
        #expect(!term.takesOverClaims(at: began))
        #expect(!term.takesOverClaims(at: began + .milliseconds(4999)))
        #expect(term.takesOverClaims(at: began + .seconds(5)))
        #expect(term.takesOverClaimsFrom == began + .seconds(5))
        term.end()
        #expect(!term.isCurrent)
        term.end()
        #expect(!term.isCurrent)
    }
}
