import EventStore
import Foundation
import IngestService
import JSON
import Postgres
import Service
import TestSupport
import Testing

/// A running ingest on its own database, with helpers to look at what it appended.
struct IngestHarness {
    let app: ServiceApp
    let client: TestHTTPClient

    static func start() async throws -> IngestHarness {
        let app = try await IngestService.start(configuration: try TestServices.configuration(), port: 0)
        return IngestHarness(app: app, client: TestHTTPClient(port: app.port, basicAuth: ("site1", "key1")))
    }

    func stop() async { await app.shutdown() }

    /// Every event in the table, in position order.
    func events() async throws -> [RecordedEvent] {
        let rows = try await app.store.pool.execute("SELECT position FROM events ORDER BY position")
        guard !rows.isEmpty else { return [] }
        var out: [RecordedEvent] = []
        var at = Checkpoint.start
        let deadline = ContinuousClock.now + .seconds(10)
        while out.count < rows.count && ContinuousClock.now < deadline {
            let batch = try await app.store.read(after: at, limit: 1000)
            out += batch
            if let l = batch.last { at = l.checkpoint } else { try await Task.sleep(for: .milliseconds(5)) }
        }
        return out.sorted { $0.position < $1.position }
    }

    func eventCount() async throws -> Int {
        try await app.store.pool.execute("SELECT count(*) FROM events")[0].int(0) ?? -1
    }

    /// The personal part of an event, opened with the vault (nil when its key was destroyed).
    func personal(_ e: RecordedEvent) async throws -> JSON? {
        guard let sealed = e.data["sealed"]?.stringValue, let k = e.metadata["key_id"]?.stringValue,
            let keyID = UUID(uuidString: k)
        else { return nil }
        let vault = app.vault
        let tenant = e.tenant
        vault.forgetCachedKeys()
        return try await app.store.pool.withConnection { try vault.open(sealed, keyID: keyID, tenant: tenant, on: $0) }
    }
}
