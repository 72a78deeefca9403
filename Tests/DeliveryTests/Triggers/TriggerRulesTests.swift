@testable import DeliveryService
import Domain
import Foundation
import JSON
import Testing

@Suite("Trigger rules (pure)")
struct TriggerRulesTests {
    @Test("conditions: equality on event data and attributes, presence, nested paths, numbers by value")
    func conditions() throws {
        let list = try TriggerCondition.parseList([
            ["path": "data.plan", "equals": "gold"], ["path": "customer.city", "exists": true],
            ["path": "data.cart.total", "equals": 10], ["path": "customer.banned", "exists": false],
        ])
        let data: JSONObject = ["plan": "gold", "cart": ["total": .number("10.0")]]
        #expect(TriggerCondition.allHold(list, data: data, attributes: ["city": "Oslo"]))
        #expect(!TriggerCondition.allHold(list, data: data, attributes: [:]))
        #expect(!TriggerCondition.allHold(list, data: data, attributes: ["city": "Oslo", "banned": true]))
        #expect(!TriggerCondition.allHold(list, data: ["plan": "silver", "cart": ["total": 10]], attributes: ["city": "Oslo"]))
        #expect(!TriggerCondition.allHold(list, data: ["plan": "gold"], attributes: ["city": "Oslo"]))
        #expect(list.map(\.json) == [
            ["path": "data.plan", "equals": "gold"], ["path": "customer.city", "exists": true],
            ["path": "data.cart.total", "equals": 10], ["path": "customer.banned", "exists": false],
        ])
    }

    static let malformed: [JSON] = [
        ["path": "plan", "equals": "x"], ["path": "data.", "exists": true], ["path": "data.a"],
        ["path": "data.a", "equals": 1, "exists": true], ["path": "data.a", "exists": "yes"], ["path": "data.a", "like": "x"],
        "data.a",
    ]

    @Test("malformed conditions are refused with a message naming the field", arguments: malformed)
    func badConditions(_ c: JSON) {
        #expect(throws: TriggerValidationError.self) { try TriggerCondition.parseList([c]) }
    }

    @Test("a trigger needs template_id, or brand_id with a known type")
    func definitions() throws {
        let id = UUID()
        #expect(try TriggerDefinition.parse(["name": "n", "event": "e", "template_id": "t"], id: id).templateID == "t")
        let brand = try TriggerDefinition.parse(["name": "n", "event": "e", "brand_id": "b", "type": "purchase"], id: id)
        #expect(brand.emailType == "purchase")
        #expect(TriggerDefinition(eventData: brand.eventData) == brand)
        let invalid: [JSON] = [
            ["name": "n", "event": "e"], ["name": "n", "event": "e", "template_id": "t", "brand_id": "b"],
            ["name": "n", "event": "e", "brand_id": "b", "type": "other"], ["event": "e", "template_id": "t"],
            ["name": "n", "event": "e", "template_id": "t", "delay_seconds": .number("1.5")],
        ]
        for bad in invalid {
            #expect(throws: TriggerValidationError.self) { try TriggerDefinition.parse(bad, id: id) }
        }
    }

    @Test("the decision: email data is event data over attributes; ids depend only on trigger and event")
    func decision() throws {
        let t = try TriggerDefinition.parse(
            ["name": "n", "event": "purchased", "brand_id": "b1", "type": "purchase", "delay_seconds": 2], id: UUID())
        let cause = UUID()
        let customer = CustomerProfile(id: "c1", email: "A@B.example", attributes: ["x": 1, "plan": "old"], created: 0, updated: 0)
        let send = try #require(
            TriggerDecision.firing(
                t, tenant: "site1", causeEventID: cause, recordedAtMilliseconds: 1_000, eventData: ["plan": "new", "order_id": "o1"],
                customer: customer))
        #expect(send.dueAt == 3_000)
        #expect(send.recipientAddress == "a@b.example")
        #expect(send.personal["email_data"] == ["x": 1, "plan": "new", "order_id": "o1"])
        #expect(send.personal["msg_details"]?["OrderId"] == "o1")
        #expect(send.clear["email_type"] == "purchase")
        let again = TriggerDecision.firing(
            t, tenant: "site1", causeEventID: cause, recordedAtMilliseconds: 9_999, eventData: [:], customer: customer)
        #expect(again?.message == send.message)
        #expect(TriggerEvents.triggerMessage(tenant: "site2", triggerID: t.id, causeEventID: cause) != send.message)
        var noEmail = customer
        noEmail.email = nil
        #expect(TriggerDecision.firing(t, tenant: "site1", causeEventID: cause, recordedAtMilliseconds: 0, eventData: [:], customer: noEmail) == nil)
    }

    @Test("drip steps are due one after another; activation bodies are validated")
    func drips() throws {
        let c = try DripCampaign.parse(
            ["name": "d", "steps": [["template_id": "a", "delay_seconds": 0], ["template_id": "b", "delay_seconds": 60], ["template_id": "c"]]],
            id: UUID())
        let activation = UUID()
        let s = c.schedule(tenant: "site1", activationID: activation, activatedAt: 1_000)
        #expect(s.map(\.dueAt) == [1_000, 61_000, 61_000])
        #expect(Set(s.map(\.message)).count == 3)
        #expect(s.map(\.message) == c.schedule(tenant: "site1", activationID: activation, activatedAt: 5).map(\.message))
        #expect(DripCampaign.parseID("dc_" + TriggerEvents.hex(c.id)) == c.id)
        #expect(try DripActivation.parse(["recipient_address": "X@Y.example"]).address == "x@y.example")
        #expect(try DripActivation.parse(["recipient": ["address": "p@q.example", "name": "P"]]).name == "P")
        #expect(throws: TriggerValidationError.self) { try DripActivation.parse(["recipient_address": "nope"]) }
        #expect(throws: TriggerValidationError.self) { try DripCampaign.parse(["name": "d", "steps": []], id: UUID()) }
    }
}
