import Crypto
import DeliveryService
import Domain
import Foundation
import JSON
import Postgres
import Service
import TestSupport
import Testing

@Suite struct WebhookCorrelationTests {
    @Test func anEventForAnUnknownLogIsKeptDurablyAndAttachedWhenTheLogAppears() async throws {
        let h = try await WebhookHarness.start()
        let future = MessageIdentity()
        let body = JSON.array([
            ProviderPayloads.sendGridEvent("bounce", id: "early-1", smtpID: "<\(future.logID)@mail.test>",
                extra: ["type": "bounce", "reason": "550 unknown"]),
            ProviderPayloads.sendGridEvent("spamreport", id: "early-2", sgMessageID: "SGID-LATER.filter.0"),
        ]).bytes
        let r = try await h.postSendGrid(body)
        #expect(r.status == 200)
        #expect(r.json["unmatched"]?.intValue == 2)
        #expect(try await h.eventCount(type: "webhook.unmatched") == 2)
        #expect(try await h.eventCount(type: "message.provider_event") == 0)
        let pending = try await h.events(type: "webhook.unmatched")
        // One request's unmatched events share one of the tenant's pending streams.
        #expect(Set(pending.map(\.stream)).count == 1)
        #expect(pending.allSatisfy { $0.stream.hasPrefix("webhook-pending-site1-") })
        // Suppressions do not wait for the log.
        #expect(try await h.eventCount(type: "suppression.added") == 2)
        // A retry while still unmatched stores nothing new.
        #expect(try await h.postSendGrid(body).json["duplicates"]?.intValue == 2)

        // The log appears (requested, then sent with SendGrid's id): both events are attached.
        try await h.seedLog(message: future, providerMessageID: "SGID-LATER")
        #expect(try await eventually { try await h.providerEvents(future).count == 2 })
        let attached = try await h.providerEvents(future)
        #expect(attached.compactMap { $0.data["provider_event_id"]?.stringValue }.sorted() == ["early-1", "early-2"])
        #expect(attached.allSatisfy { $0.data["log_id"]?.stringValue == future.logID })
        #expect(try await eventually { try await h.count("SELECT count(*) FROM webhook_pending") == 0 })
        // Once attached, a retry is a duplicate (same deterministic ids).
        let again = try await h.postSendGrid(body)
        #expect(again.json["duplicates"]?.intValue == 2)
        #expect(try await h.providerEvents(future).count == 2)
        await h.stop()
    }

    /// A fast provider: its webhook arrives after the `sent` event is committed but before the
    /// correlation projection has it. The event waits for the projection and is attached, not
    /// kept as unmatched. Projections are held back by an open transaction with an id taken
    /// before the log is written (readers take only events of transactions older than every
    /// running one), rolled back once the webhook request waits.
    @Test func aWebhookThatOvertakesTheProjectionWaitsForItAndIsAttached() async throws {
        let h = try await WebhookHarness.start()
        let url = h.app.configuration.databaseURL
        let holder = try PostgresConnection(url: url)
        let watcher = try PostgresConnection(url: url)
        defer { holder.close(); watcher.close() }
        try holder.execute("BEGIN")
        _ = try holder.execute("SELECT pg_current_xact_id()")

        let message = try await h.seedLog(providerMessageID: "SGID-FAST", waitForCorrelation: false)
        #expect(try await h.count("SELECT count(*) FROM webhook_correlation") == 0)
        let body = JSON.array([ProviderPayloads.sendGridEvent("delivered", id: "fast-1", sgMessageID: "SGID-FAST.filter.0")]).bytes
        let posted = Task { try await h.postSendGrid(body) }
        // The request found no log and now waits for the projection to reach the newest event.
        #expect(try await eventually {
            try !watcher.execute(
                """
                SELECT 1 FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'SELECT tx_id::text, position FROM events ORDER BY%'
                """
            ).isEmpty
        })
        try holder.execute("ROLLBACK")
        let r = try await posted.value
        #expect(r.status == 200)
        #expect(r.json["attached"]?.intValue == 1)
        #expect(r.json["unmatched"]?.intValue == 0)
        #expect(try await h.providerEvents(message).count == 1)
        #expect(try await h.eventCount(type: "webhook.unmatched") == 0)
        await h.stop()
    }

    /// A webhook that names the log by its id or by our Message-ID is matched from the event
    /// table, so it is attached at once even while the correlation projection is held back (as
    /// in the test above) and has seen nothing of the log.
    @Test(arguments: ["log id", "Message-ID"])
    func aWebhookNamingTheLogIsAttachedWithoutWaitingForTheProjection(key: String) async throws {
        let h = try await WebhookHarness.start()
        let holder = try PostgresConnection(url: h.app.configuration.databaseURL)
        defer { holder.close() }
        try holder.execute("BEGIN")
        _ = try holder.execute("SELECT pg_current_xact_id()")

        let message = try await h.seedLog(waitForCorrelation: false)
        let event =
            key == "log id"
            ? ProviderPayloads.sendGridEvent("delivered", logID: message.logID)
            : ProviderPayloads.sendGridEvent("delivered", smtpID: "<\(message.logID)@mail.test>")
        // Matching through the projection would wait for it (2 s), find nothing and keep the
        // event as unmatched: the projection cannot move while the holder's transaction is open.
        let r = try await h.postSendGrid(JSON.array([event]).bytes)
        try holder.execute("ROLLBACK")
        #expect(r.status == 200)
        #expect(r.json["attached"]?.intValue == 1)
        #expect(r.json["unmatched"]?.intValue == 0)
        #expect(try await h.providerEvents(message).count == 1)
        await h.stop()
    }

    /// Rows hold provider ids only: a log that was only requested has none (its id and our
    /// Message-ID are matched in the event table), and its `sent` event adds one.
    @Test func aLogGetsItsCorrelationRowWhenItsSendNamesAProviderID() async throws {
        let h = try await WebhookHarness.start()
        let message = try await h.seedLog(sent: false, waitForCorrelation: false)
        let newest = try await h.app.store.newestCheckpoint()
        #expect(try await h.app.waitForProjection(named: "delivery_webhook_correlation", toReach: newest, timeout: .seconds(10)))
        #expect(try await h.count("SELECT count(*) FROM webhook_correlation") == 0)
        try await h.seedLog(message: message, providerMessageID: "SGID-ROW")
        let row = try await h.app.store.pool.execute(
            "SELECT log_id, message_id_header, provider_message_id FROM webhook_correlation WHERE message_hex = $1",
            [message.hex])
        #expect(row.rows.count == 1)
        #expect(row[0][0] == message.logID)
        #expect(row[0][1] == nil)  // our Message-ID is matched by its hex, not stored
        #expect(row[0][2] == "SGID-ROW")
        await h.stop()
    }

    @Test func pendingEventsSurviveARestart() async throws {
        let database = try TestPostgres.makeDatabase()
        let first = try await WebhookHarness.start(databaseURL: database)
        let future = MessageIdentity()
        let body = JSON.array([ProviderPayloads.sendGridEvent("delivered", id: "keep-1", logID: future.logID)]).bytes
        #expect(try await first.postSendGrid(body).json["unmatched"]?.intValue == 1)
        await first.stop()

        let second = try await WebhookHarness.start(databaseURL: database)
        try await second.seedLog(message: future)
        #expect(try await eventually { try await second.providerEvents(future).count == 1 })
        await second.stop()
    }

    @Test func logsOfAnotherTenantAreNeverMatched() async throws {
        let h = try await WebhookHarness.start()
        let theirs = try await h.seedLog(tenant: "site2")
        let body = JSON.array([ProviderPayloads.sendGridEvent("open", id: "cross-1", logID: theirs.logID)]).bytes
        let r = try await h.postSendGrid(body, site: "site1")
        #expect(r.json["unmatched"]?.intValue == 1)
        #expect(try await h.providerEvents(theirs, tenant: "site2").isEmpty)
        await h.stop()
    }

    @Test func aTenantWithoutTheProviderConfiguredGets401() async throws {
        let h = try await WebhookHarness.start()
        let before = try await h.eventCount()
        let body = JSON.array([ProviderPayloads.sendGridEvent("open", id: "s2-1")]).bytes
        #expect(try await h.postSendGrid(body, site: "site2").status == 401)
        #expect(try await h.postSendGrid(body, site: "nosuchsite").status == 401)
        let postmark = ProviderPayloads.postmarkDelivery(messageID: "m", logID: nil)
        let creds = ProviderPayloads.basic(WebhookTestKeys.postmark.0, WebhookTestKeys.postmark.1)
        #expect(try await h.postJSON("/webhooks/postmark/site2", postmark, headers: [creds]).status == 401)
        let sns = try ProviderPayloads.sns(message: "{}", certificateURL: h.sns.certificateURL)
        #expect(try await h.postJSON("/webhooks/ses/site2", sns).status == 401)
        #expect(try await h.eventCount() == before)
        await h.stop()
    }

    @Test func aBadConfigurationFileStopsTheServiceFromStarting() async throws {
        for text in ["{not json", "[]", #"{"site1": {"sendgrid": {"public_key": "AAAA"}}}"#,
            #"{"site1": {"ses": {"topic_arns": []}}}"#, #"{"site1": {"sendmail": {}}}"#]
        {
            let path = try WebhookHarness.writeTemporary(Array(text.utf8))
            defer { try? FileManager.default.removeItem(atPath: path) }
            await #expect(throws: ConfigurationError.self) {
                let app = try await WebhookTestService.start(
                    configuration: try TestServices.configuration(extra: ["WEBHOOKS_CONFIG": path]), port: 0)
                await app.shutdown()
            }
        }
        await #expect(throws: ConfigurationError.self) {
            let app = try await WebhookTestService.start(
                configuration: try TestServices.configuration(extra: ["WEBHOOKS_CONFIG": "/nonexistent/webhooks.json"]),
                port: 0)
            await app.shutdown()
        }
    }
}

@Suite struct WebhookAvailabilityTests {
    @Test func whenTheDatabaseIsDownTheWebhookAnswers503AndTheRetrySucceeds() async throws {
        let database = try TestPostgres.makeDatabase()
        let h = try await WebhookHarness.start(databaseURL: database)
        let a = try await h.seedLog()
        let name = String(database.split(separator: "/").last ?? "")
        let admin = try PostgresConnection(url: try TestPostgres.adminURL())
        defer { admin.close() }
        try admin.execute("ALTER DATABASE \(name) ALLOW_CONNECTIONS false")
        try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name])

        let body = JSON.array([ProviderPayloads.sendGridEvent("delivered", id: "down-1", logID: a.logID)]).bytes
        let down = try await h.postSendGrid(body)
        #expect(down.status == 503)
        let mailgun = ProviderPayloads.mailgun(event: "delivered", logID: a.logID).bytes
        #expect(try await h.postJSON("/webhooks/mailgun/site1", mailgun).status == 503)

        try admin.execute("ALTER DATABASE \(name) ALLOW_CONNECTIONS true")
        let recovered = await eventually { (try? await h.postSendGrid(body).status) == 200 }
        #expect(recovered)
        #expect(try await h.providerEvents(a).count == 1)
        await h.stop()
    }
}
