import EventStore
import Foundation
@testable import IngestService
import JSON
import Testing

/// The benchmark-only plaintext switch and the batch key prefetch.
@Suite struct PerformancePathTests {
    @Test func plaintextIsOnlyEnabledByItsExactConsentValue() throws {
        #expect(try PersonalDataSealing.from(environment: [:]) == .encrypted)
        #expect(
            try PersonalDataSealing.from(environment: [PersonalDataSealing.variable: PersonalDataSealing.consent])
                == .plaintextBenchmarkOnly)
        for wrong in ["1", "true", "yes", "", "store-personal-data-in-clear "] {
            #expect(throws: (any Error).self) { try PersonalDataSealing.from(environment: [PersonalDataSealing.variable: wrong]) }
        }
    }

    /// A batch about 50 customers never seen before: one key each, every event sealed under its
    /// customer's key and readable, and a second batch reuses the same keys.
    @Test func batchOfNewCustomersGetsOneKeyEach() async throws {
        let h = try await IngestHarness.start()
        let ops: [JSON] = (0..<50).map { i in
            ["type": "person", "identifiers": ["id": .string("c\(i)")], "action": "event", "name": "purchased",
             "attributes": ["n": .int(i)]]
        }
        #expect(try await h.client.send("POST", "/api/v2/batch", json: ["batch": .array(ops)]).status == 200)
        #expect(try await h.client.send("POST", "/api/v2/batch", json: ["batch": .array(ops)]).status == 200)
        let events = try await h.events()
        #expect(events.count == 100)
        let keys = try await h.app.store.pool.execute("SELECT count(*) FROM subject_keys")[0].int(0)
        #expect(keys == 50)
        var keyOf: [String: String] = [:]
        for e in events {
            let personal = try await h.personal(e)
            let id = personal?["id"]?.stringValue
            #expect(id != nil)
            let key = e.metadata["key_id"]?.stringValue
            if let id, let key {
                #expect(keyOf[id, default: key] == key, "one key per customer")
                keyOf[id] = key
            }
        }
        #expect(Set(keyOf.values).count == 50)
        await h.stop()
    }
}
