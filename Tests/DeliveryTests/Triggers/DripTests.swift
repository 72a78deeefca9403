import DeliveryService
import Domain
import EventStore
import Foundation
import JSON
import TestSupport
import Testing

@Suite("Drip campaigns: scheduled steps")
struct DripTests {
    /// Creates a campaign with steps (template id, delay after the previous step); returns its id.
    static func campaign(_ h: TriggerHarness, _ steps: [(String, Int)], path: String = "/drip_campaigns") async throws -> String {
        let r = try await h.client.send(
            "POST", path,
            json: ["name": "Onboarding", "steps": .array(steps.map { ["template_id": .string($0.0), "delay_seconds": .int($0.1)] })])
        #expect(r.status == 201, "\(r.text)")
        return r.json["drip_campaign"]?["id"]?.stringValue ?? ""
    }

    static func activate(_ h: TriggerHarness, _ id: String, _ address: String, key: String? = nil) async throws {
        let r = try await h.client.send(
            "POST", "/api/v1/drip_campaigns/\(id)/activate",
            json: ["recipient": ["address": .string(address), "name": "Dee"], "email_data": ["coupon": "X1"], "locale": "en-US"],
            headers: key.map { [("Idempotency-Key", $0)] } ?? [])
        #expect(r.status == 200, "\(r.text)")
        #expect(r.json["success"]?.boolValue == true)
    }

    /// The triggered messages to `address`, in append order.
    static func sends(_ h: TriggerHarness, to address: String) async throws -> [(RecordedEvent, JSON)] {
        var out: [(RecordedEvent, JSON)] = []
        for e in try await h.events(EventCatalog.messageTriggered) {
            if let s = try await h.open(e), s["recipient"]?["address"]?.stringValue == address { out.append((e, s)) }
        }
        return out
    }

    static func waitForSends(_ h: TriggerHarness, to address: String, count: Int) async throws -> [(RecordedEvent, JSON)] {
        var found: [(RecordedEvent, JSON)] = []
        _ = try await eventually(timeout: .seconds(10)) {
            found = try await sends(h, to: address)
            return found.count >= count
        }
        return found
    }

    @Test("a three-step drip (0, 1, 1 s after the previous) fires in order, each within a second of its due time")
    func threeSteps() async throws {
        let h = try await TriggerHarness.start()
        do {
            let id = try await Self.campaign(h, [("tem_1", 0), ("tem_2", 1), ("tem_3", 1)])
            let listed = try await eventually { try await h.client.send("GET", "/drip_campaigns").json.arrayValue?.count == 1 }
            #expect(listed)
            let shown = try await h.client.send("GET", "/api/v1/drip_campaigns/\(id)")
            #expect(shown.json["steps"]?.arrayValue?.count == 3)
            try await Self.activate(h, id, "Dee@Example.com")
            let scheduled = try await h.events(TriggerEvents.dripStepScheduled)
            let types = try await h.events().map(\.type)
            #expect(scheduled.count == 3, "\(types)")
            let sent = try await Self.waitForSends(h, to: "dee@example.com", count: 3)
            #expect(sent.map { $0.0.data["template_id"]?.stringValue } == ["tem_1", "tem_2", "tem_3"])
            for ((e, sealed), step) in zip(sent, scheduled) {
                #expect(e.data["message_id"] == step.data["message_id"])
                #expect(e.data["status"]?.stringValue == "triggered")
                #expect(e.data["locale"]?.stringValue == "en-US")
                #expect(sealed["email_data"]?["coupon"]?.stringValue == "X1")
                #expect(sealed["recipient"]?["name"]?.stringValue == "Dee")
                let due = step.data["due_at"]?.numberText.flatMap { Int64($0) } ?? 0
                let fired = Int64(e.recordedAt * 1000)
                #expect(fired >= due && fired - due < 1000, "fired \(fired - due) ms after its due time")
            }
            #expect(try await eventually { try await h.pendingSends() == 0 })
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("deactivation mid-campaign cancels the remaining steps with a reason")
    func deactivation() async throws {
        let h = try await TriggerHarness.start()
        do {
            let id = try await Self.campaign(h, [("tem_1", 0), ("tem_2", 1), ("tem_3", 1)])
            try await Self.activate(h, id, "stop@example.com")
            #expect(try await Self.waitForSends(h, to: "stop@example.com", count: 1).count == 1)
            let r = try await h.client.send(
                "POST", "/api/v1/drip_campaigns/\(id)/deactivate", json: ["recipient_address": "Stop@Example.com"])
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["cancelled_steps"]?.intValue == 2)
            let cancelled = try await h.events(TriggerEvents.dripStepCancelled)
            #expect(cancelled.count == 2)
            #expect(cancelled.allSatisfy { $0.data["reason"]?.stringValue == "deactivated" })
            // Barrier: another recipient activated later gets all three steps, after the cancelled ones were due.
            // A retried activation (same Idempotency-Key) schedules nothing more.
            try await Self.activate(h, id, "go@example.com", key: "activate-go")
            try await Self.activate(h, id, "go@example.com", key: "activate-go")
            #expect(try await h.events(TriggerEvents.dripStepScheduled).count == 6)
            #expect(try await Self.waitForSends(h, to: "go@example.com", count: 3).count == 3)
            #expect(try await Self.sends(h, to: "stop@example.com").count == 1)
            // From all campaigns: nothing left to cancel for the first recipient.
            let all = try await h.client.send("POST", "/drips/deactivate", json: ["email_address": "stop@example.com"])
            #expect(all.json["cancelled_steps"]?.intValue == 0)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("a restart between steps fires each step once, an overdue one late")
    func restart() async throws {
        let first = try await TriggerHarness.start()
        let configuration = first.configuration
        let due: [Int64]
        do {
            let id = try await Self.campaign(first, [("tem_1", 0), ("tem_2", 1), ("tem_3", 1)])
            try await Self.activate(first, id, "again@example.com")
            due = try await first.events(TriggerEvents.dripStepScheduled).compactMap {
                $0.data["due_at"]?.numberText.flatMap { Int64($0) }
            }
            #expect(try await Self.waitForSends(first, to: "again@example.com", count: 1).count >= 1)
        } catch {
            await first.stop()
            throw error
        }
        await first.stop()
        // The outage lasts past step 2's due time.
        try #require(due.count == 3)
        let overdue = await eventually { Int64(Date().timeIntervalSince1970 * 1000) > due[1] + 200 }
        #expect(overdue)
        let second = try await TriggerHarness.start(configuration: configuration)
        do {
            let sent = try await Self.waitForSends(second, to: "again@example.com", count: 3)
            #expect(sent.map { $0.0.data["template_id"]?.stringValue } == ["tem_1", "tem_2", "tem_3"])
            #expect(Set(sent.compactMap { $0.0.data["message_id"]?.stringValue }).count == 3)
            #expect(try await eventually { try await second.pendingSends() == 0 })
            #expect(try await Self.sends(second, to: "again@example.com").count == 3)
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }

    @Test("deleting the customer does not cancel pending steps (seed 000); /drips/deactivate does, in every campaign")
    func deletionKeepsDrips() async throws {
        let h = try await TriggerHarness.start()
        do {
            let a = try await Self.campaign(h, [("a_1", 0), ("a_2", 1)])
            let b = try await Self.campaign(h, [("b_1", 30)], path: "/api/v1/drip_campaigns")
            try await Self.activate(h, a, "gone@example.com")
            try await Self.activate(h, b, "gone@example.com")
            #expect(try await Self.waitForSends(h, to: "gone@example.com", count: 1).count == 1)
            // Both activations are scheduled (a_2 and b_1 pending) before the erasure: steps the
            // projection has not opened yet when the key is destroyed are lost with it.
            #expect(try await eventually { try await h.pendingSends() == 2 })
            // Erase the customer the way ingest does: tombstone, then destroy the subject's key.
            let vault = h.app.vault
            let subject = try await h.app.store.pool.withConnection { c in
                let s = try vault.subjectHash(tenant: "site1", subject: "gone@example.com", on: c)
                try vault.destroyKey(tenant: "site1", subjectHash: s, on: c)
                return s
            }
            try await h.app.store.append(
                StreamAppend(
                    tenant: "site1", stream: EventCatalog.customerStream(subject: subject),
                    events: [
                        NewEvent(
                            type: EventCatalog.customerDeleted,
                            data: ["subject": .string(subject), "erased_subjects": [.string(subject)], "occurred_at": 0])
                    ]))
            // Step 2 of campaign a is still sent, under the subject's new key (step 1, sealed under
            // the destroyed key, is unreadable now).
            let all = try await h.waitFor(EventCatalog.messageTriggered, count: 2)
            #expect(all.map { $0.data["template_id"]?.stringValue } == ["a_1", "a_2"])
            let readable = try await Self.sends(h, to: "gone@example.com")
            #expect(readable.map { $0.0.data["template_id"]?.stringValue } == ["a_2"])
            let r = try await h.client.send("POST", "/api/v1/drips/deactivate", json: ["email_address": "gone@example.com"])
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["cancelled_steps"]?.intValue == 1)
            let cancelled = try await h.events(TriggerEvents.dripStepCancelled)
            #expect(cancelled.count == 1)
            #expect(cancelled.first?.data["reason"]?.stringValue == "deactivated from all drip campaigns")
            #expect(try await eventually { try await h.pendingSends() == 0 })
            // Final rows keep no address: the erased customer's is in no row once its steps are done.
            #expect(
                try await eventually {
                    try await h.app.store.pool.execute(
                        "SELECT count(*) FROM scheduled_sends WHERE recipient_address = '' AND payload IS NULL")[0].int(0) == 3
                })
            #expect(
                try await h.app.store.pool.execute(
                    "SELECT count(*) FROM scheduled_sends WHERE recipient_address <> ''")[0].int(0) == 0)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }
}
