@testable import DeliveryService
import Domain
import Foundation
import JSON
import Postgres
import Service
import TestSupport
import Testing

@Suite struct WebhookRetentionTests {
    @Test func retentionIsReadFromTheEnvironmentAndRefusesNonsense() throws {
        let defaults = try WebhookRetention.Configuration.load(from: EnvironmentReader([:]))
        #expect(defaults.correlationDays == 365)
        #expect(defaults.unmatchedDays == 30)
        let set = try WebhookRetention.Configuration.load(
            from: EnvironmentReader(["WEBHOOK_CORRELATION_RETENTION_DAYS": "0", "WEBHOOK_UNMATCHED_RETENTION_DAYS": "7"]))
        #expect(set.correlationDays == 0)
        #expect(set.unmatchedDays == 7)
        for bad in ["-1", "ten", "36501"] {
            #expect(throws: ConfigurationError.self) {
                try WebhookRetention.Configuration.load(from: EnvironmentReader(["WEBHOOK_UNMATCHED_RETENTION_DAYS": bad]))
            }
        }
    }

    /// Rows carry their events' times, and a pass removes exactly the correlation rows of old
    /// sends and the old pending events that never matched, chunk by chunk; the events stay.
    @Test func aPassRemovesOldCorrelationRowsAndOldUnmatchedEventsOnly() async throws {
        let h = try await WebhookHarness.start()
        // The projection dates each row by its `sent` event, not by when it applies it: it is
        // held back (an open transaction with an id, as in the correlation tests) while the logs
        // are written, and applies them a quarter of a second later.
        let holder = try PostgresConnection(url: h.app.configuration.databaseURL)
        defer { holder.close() }
        try holder.execute("BEGIN")
        _ = try holder.execute("SELECT pg_current_xact_id()")
        var old: [MessageIdentity] = []
        for i in 0..<3 { old.append(try await h.seedLog(providerMessageID: "SGID-OLD-\(i)", waitForCorrelation: false)) }
        let recent = try await h.seedLog(providerMessageID: "SGID-RECENT", waitForCorrelation: false)
        try await Task.sleep(for: .milliseconds(250))  // the gap being tested, not a wait for anything
        #expect(try await h.count("SELECT count(*) FROM webhook_correlation") == 0)
        try holder.execute("ROLLBACK")
        #expect(try await eventually { try await h.count("SELECT count(*) FROM webhook_correlation") == 4 })
        #expect(
            try await h.count(
                """
                SELECT count(*) FROM webhook_correlation c JOIN events e
                  ON e.stream = 'message-' || c.message_hex AND e.type = 'message.sent'
                 WHERE abs(extract(epoch FROM c.sent_at - e.recorded_at)) < 0.002
                """) == 4)

        // Two unmatched events (unknown provider ids), then one ages past the retention.
        let body = JSON.array([
            ProviderPayloads.sendGridEvent("open", id: "unmatched-old", sgMessageID: "SGID-NOBODY-1.filter.0"),
            ProviderPayloads.sendGridEvent("open", id: "unmatched-new", sgMessageID: "SGID-NOBODY-2.filter.0"),
        ]).bytes
        #expect(try await h.postSendGrid(body).json["unmatched"]?.intValue == 2)
        #expect(try await eventually { try await h.count("SELECT count(*) FROM webhook_pending") == 2 })
        #expect(try await h.count("SELECT count(*) FROM webhook_pending WHERE received_at > now() - interval '1 minute'") == 2)
        try await h.app.store.pool.execute(
            "UPDATE webhook_pending SET received_at = now() - interval '31 days' WHERE provider_message_id = 'SGID-NOBODY-1'")
        try await h.app.store.pool.execute(
            "UPDATE webhook_correlation SET sent_at = now() - interval '366 days' WHERE message_hex = ANY($1::text[])",
            [PostgresArray(old.map(\.hex))])

        // Nothing is removed while retention is off.
        var off = WebhookRetention.Configuration()
        off.correlationDays = 0
        off.unmatchedDays = 0
        #expect(try await WebhookRetention.pass(app: h.app, configuration: off) == WebhookRetention.Removed())

        var configuration = WebhookRetention.Configuration()
        configuration.chunk = 2  // three old rows: two statements
        let removed = try await WebhookRetention.pass(app: h.app, configuration: configuration)
        #expect(removed == WebhookRetention.Removed(correlations: 3, unmatched: 1))
        let left = try await h.app.store.pool.execute("SELECT message_hex FROM webhook_correlation")
        #expect(left.rows.map { $0[0] } == [recent.hex])
        let pending = try await h.app.store.pool.execute("SELECT provider_message_id FROM webhook_pending")
        #expect(pending.rows.map { $0[0] } == ["SGID-NOBODY-2"])
        // The record of every provider event stays in the event table.
        #expect(try await h.eventCount(type: "webhook.unmatched") == 2)
        #expect(try await WebhookRetention.pass(app: h.app, configuration: configuration) == WebhookRetention.Removed())

        // An event naming only the provider id of a removed row is kept, as unmatched.
        let late = JSON.array([ProviderPayloads.sendGridEvent("click", id: "late-click", sgMessageID: "SGID-OLD-0.filter.0")])
        #expect(try await h.postSendGrid(late.bytes).json["unmatched"]?.intValue == 1)
        #expect(try await h.providerEvents(old[0]).isEmpty)
        await h.stop()
    }
}
