import Domain
import EventStore
import Foundation
import JSON
import TestSupport
import Testing

@Suite("Triggers: tracked events that send mail")
struct TriggerTests {
    @Test("a tracked event fires its trigger: one message.triggered with template, recipient and email data")
    func eventFiresTrigger() async throws {
        let h = try await TriggerHarness.start()
        do {
            let triggerID = try await h.createTrigger(["name": "Welcome", "event": "signed_up", "template_id": "tem_welcome"])
            try await h.upsertCustomer("Ann@Example.com", attributes: ["city": "Paris", "plan": "silver"])
            let cause = try await h.track("ann@example.com", "signed_up", data: ["plan": "gold", "source": "ad"])

            let sent = try await h.waitFor(EventCatalog.messageTriggered, count: 1)
            #expect(sent.count == 1)
            let e = try #require(sent.first)
            #expect(e.data["status"]?.stringValue == "triggered")
            #expect(e.data["template_id"]?.stringValue == "tem_welcome")
            #expect(e.data["template_name"]?.stringValue == "")
            #expect(e.metadata["trigger_id"]?.stringValue == triggerID)
            #expect(e.metadata["cause_event_id"]?.stringValue == cause.uuidString.lowercased())
            let messageID = try #require(e.data["message_id"]?.stringValue)
            #expect(e.stream == "message-" + messageID.replacingOccurrences(of: "-", with: ""))
            #expect(e.data["log_id"]?.stringValue == "log_" + messageID.replacingOccurrences(of: "-", with: ""))
            let sealed = try #require(try await h.open(e))
            #expect(sealed["recipient"]?["address"]?.stringValue == "ann@example.com")
            // Event data over customer attributes.
            #expect(sealed["email_data"]?["plan"]?.stringValue == "gold")
            #expect(sealed["email_data"]?["city"]?.stringValue == "Paris")
            #expect(sealed["email_data"]?["source"]?.stringValue == "ad")

            // Read side of the trigger, then deactivation: a later event sends nothing.
            // Tenant-scoped and authenticated.
            let other = try await TestHTTPClient(port: h.app.port, basicAuth: ("site2", "key2")).send("GET", "/triggers/\(triggerID)")
            #expect(other.status == 404)
            let anonymous = try await TestHTTPClient(port: h.app.port).send("GET", "/triggers")
            #expect(anonymous.status == 401)
            let shown = try await h.client.send("GET", "/triggers/\(triggerID)")
            #expect(shown.json["trigger"]?["event"]?.stringValue == "signed_up")
            #expect(shown.json["trigger"]?["active"]?.boolValue == true)
            let deleted = try await h.client.send("DELETE", "/triggers/\(triggerID)")
            #expect(deleted.status == 200)
            #expect(deleted.json["trigger"]?["active"]?.boolValue == false)
            let listed = try await eventually {
                let r = try await h.client.send("GET", "/triggers")
                return r.json["triggers"]?.arrayValue?.first?["active"]?.boolValue == false
            }
            #expect(listed)
            try await h.track("ann@example.com", "signed_up", data: ["plan": "gold"])
            // Barrier: a second, active trigger on another event fires after the ignored one.
            _ = try await h.createTrigger(["name": "Barrier", "event": "barrier", "template_id": "tem_barrier"])
            try await h.track("ann@example.com", "barrier")
            let after = try await h.waitFor(EventCatalog.messageTriggered, count: 2)
            #expect(after.count == 2)
            #expect(after.last?.data["template_id"]?.stringValue == "tem_barrier")
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("conditions that do not hold send nothing; the customer needs an email")
    func conditions() async throws {
        let h = try await TriggerHarness.start()
        do {
            _ = try await h.createTrigger([
                "name": "Gold in a city", "event": "upgraded", "template_id": "tem_gold",
                "conditions": [["path": "data.plan", "equals": "gold"], ["path": "customer.city", "exists": true]],
            ])
            let bad = try await h.client.send(
                "POST", "/triggers", json: ["name": "x", "event": "y", "template_id": "t", "conditions": [["path": "plan", "equals": 1]]])
            #expect(bad.status == 400)
            try await h.upsertCustomer("nocity@example.com", attributes: ["plan": "basic"])
            try await h.upsertCustomer("city@example.com", attributes: ["city": "Oslo"])
            try await h.track("nocity@example.com", "upgraded", data: ["plan": "gold"])  // no city
            try await h.track("city@example.com", "upgraded", data: ["plan": "silver"])  // wrong plan
            try await h.track("nobody@example.com", "upgraded", data: ["plan": "gold"])  // no such customer
            try await h.track("city@example.com", "upgraded", data: ["plan": "gold"])  // matches (and is the barrier)
            let sent = try await h.waitFor(EventCatalog.messageTriggered, count: 1)
            #expect(try await eventually { try await h.pendingSends() == 0 })
            let again = try await h.events(EventCatalog.messageTriggered)
            #expect(again.count == 1)
            #expect(sent.count == 1)
            let first = try #require(again.first)
            let sealed = try #require(try await h.open(first))
            #expect(sealed["recipient"]?["address"]?.stringValue == "city@example.com")
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("a purchased event and a brand purchase trigger: email_type purchase and MsgDetails.OrderId")
    func purchase() async throws {
        let h = try await TriggerHarness.start()
        do {
            _ = try await h.createTrigger(["name": "Receipt", "event": "purchased", "brand_id": "brand-1", "type": "purchase"])
            try await h.upsertCustomer("buyer@example.com")
            try await h.track("buyer@example.com", "purchased", data: ["order_id": "0b7c6e4e-0000-4000-8000-000000000001"])
            let e = try #require(try await h.waitFor(EventCatalog.messageTriggered, count: 1).first)
            #expect(e.data["email_type"]?.stringValue == "purchase")
            #expect(e.data["brand_id"]?.stringValue == "brand-1")
            let details = try #require(try await h.open(e))["msg_details"]
            #expect(details?["Type"]?.stringValue == "purchase")
            #expect(details?["OrderId"]?.stringValue == "0b7c6e4e-0000-4000-8000-000000000001")
            #expect(details?["BrandId"]?.stringValue == "brand-1")
            #expect(details?["To"]?.stringValue == "buyer@example.com")
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("rebuilding the projection (a replay of the event table) appends nothing new")
    func replay() async throws {
        let h = try await TriggerHarness.start()
        do {
            _ = try await h.createTrigger(["name": "T", "event": "ping", "template_id": "tem_ping"])
            try await h.upsertCustomer("r@example.com")
            for i in 0..<3 { try await h.track("r@example.com", "ping", data: ["n": .int(i)]) }
            #expect(try await h.waitFor(EventCatalog.messageTriggered, count: 3).count == 3)
            let total = try await h.events().count
            let applied = h.runner.progress.appliedEvents
            h.runner.requestRebuild()
            let replayed = try await eventually {
                let pending = try await h.pendingSends()
                return h.runner.progress.appliedEvents >= applied + total && h.runner.progress.isCaughtUp && pending == 0
            }
            #expect(replayed)
            #expect(try await h.events(EventCatalog.messageTriggered).count == 3)
            #expect(try await h.events().count == total)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test("two module instances on one database append each triggered message once")
    func twoReplicas() async throws {
        let a = try await TriggerHarness.start()
        let b: TriggerHarness
        do { b = try await TriggerHarness.start(configuration: a.configuration) } catch {
            await a.stop()
            throw error
        }
        var aRunning = true
        do {
            _ = try await a.createTrigger(["name": "T", "event": "ping", "template_id": "tem_ping"])
            try await b.upsertCustomer("two@example.com")
            for i in 0..<5 { try await (i % 2 == 0 ? a : b).track("two@example.com", "ping", data: ["n": .int(i)]) }
            let sent = try await a.waitFor(EventCatalog.messageTriggered, count: 5)
            #expect(sent.count == 5)
            #expect(Set(sent.compactMap { $0.data["message_id"]?.stringValue }).count == 5)
            // The leader goes away; the other instance takes over and still appends each once.
            await a.stop()
            aRunning = false
            try await b.track("two@example.com", "ping", data: ["n": 5])
            let more = try await b.waitFor(EventCatalog.messageTriggered, count: 6, timeout: .seconds(15))
            #expect(more.count == 6)
            #expect(try await eventually { try await b.pendingSends() == 0 })
            #expect(try await b.events(EventCatalog.messageTriggered).count == 6)
        } catch {
            if aRunning { await a.stop() }
            await b.stop()
            throw error
        }
        await b.stop()
    }

    @Test("delay_seconds schedules the send instead of appending at once")
    func delayed() async throws {
        let h = try await TriggerHarness.start()
        do {
            _ = try await h.createTrigger(["name": "Later", "event": "browsed", "template_id": "tem_later", "delay_seconds": 1])
            let bad = try await h.client.send(
                "POST", "/triggers", json: ["name": "x", "event": "y", "template_id": "t", "delay_seconds": -1])
            #expect(bad.status == 400)
            try await h.upsertCustomer("later@example.com")
            let cause = try await h.track("later@example.com", "browsed")
            let e = try #require(try await h.waitFor(EventCatalog.messageTriggered, count: 1).first)
            let tracked = try #require(try await h.events(EventCatalog.customerEventTracked).first { $0.id == cause })
            #expect(e.recordedAt - tracked.recordedAt >= 1.0)
            #expect(e.recordedAt - tracked.recordedAt < 2.5)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }
}
