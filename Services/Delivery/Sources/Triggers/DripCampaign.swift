import Domain
import Foundation
import JSON

/// A drip campaign: steps sent one after another. Each step's `delay_seconds` counts from the
/// previous step (the first from the activation), as in sendwithus' drip builder.
struct DripCampaign: Sendable, Equatable {
    struct Step: Sendable, Equatable {
        let templateID: String
        let delaySeconds: Int
    }

    static let maximumSteps = 50

    let id: UUID
    let name: String
    let steps: [Step]

    /// Validates a `POST /drip_campaigns` body.
    static func parse(_ body: JSON, id: UUID) throws(TriggerValidationError) -> DripCampaign {
        guard let o = body.objectValue else { throw .invalid("body must be a JSON object") }
        guard let name = o["name"]?.stringValue, !name.isEmpty, name.count <= 200 else {
            throw .invalid("name is required (a string of 1 to 200 characters)")
        }
        guard let list = o["steps"]?.arrayValue, !list.isEmpty, list.count <= maximumSteps else {
            throw .invalid("steps is required (an array of 1 to \(maximumSteps) steps)")
        }
        var steps: [Step] = []
        for (i, s) in list.enumerated() {
            guard let template = s["template_id"]?.stringValue, !template.isEmpty, template.count <= 200 else {
                throw .invalid("steps[\(i)].template_id is required")
            }
            let delay = s["delay_seconds"] ?? .int(0)
            guard let d = delay.intValue, d >= 0, d <= TriggerDefinition.maximumDelay else {
                throw .invalid("steps[\(i)].delay_seconds must be a whole number from 0 to \(TriggerDefinition.maximumDelay)")
            }
            steps.append(Step(templateID: template, delaySeconds: d))
        }
        return DripCampaign(id: id, name: name, steps: steps)
    }

    /// The clear data of `drip_campaign.created`.
    var eventData: JSONObject {
        [
            "drip_campaign_id": .string(TriggerEvents.lowercased(id)), "name": .string(name),
            "steps": .array(steps.map { ["template_id": .string($0.templateID), "delay_seconds": .int($0.delaySeconds)] }),
        ]
    }

    init(id: UUID, name: String, steps: [Step]) {
        self.id = id
        self.name = name
        self.steps = steps
    }

    /// Reads a campaign back from `drip_campaign.created` data.
    init?(eventData o: JSONObject) {
        guard let idText = o["drip_campaign_id"]?.stringValue, let id = UUID(uuidString: idText),
            let name = o["name"]?.stringValue, let list = o["steps"]?.arrayValue
        else { return nil }
        self.id = id
        self.name = name
        steps = list.compactMap { s in
            s["template_id"]?.stringValue.map { Step(templateID: $0, delaySeconds: s["delay_seconds"]?.intValue ?? 0) }
        }
    }

    /// The sendwithus-style object: `{"id", "name", "enabled": true, "steps": [{"id", "template_id", "delay_seconds"}]}`.
    func response(created: Int64?) -> JSON {
        var o: JSONObject = [
            "object": "drip_campaign", "id": .string("dc_" + TriggerEvents.hex(id)), "name": .string(name), "enabled": true,
        ]
        o["steps"] = .array(
            steps.enumerated().map { i, s in
                [
                    "object": "drip_step", "id": .string("dcs_\(TriggerEvents.hex(id))_\(i)"), "template_id": .string(s.templateID),
                    "delay_seconds": .int(s.delaySeconds),
                ]
            })
        if let created { o["created"] = .int64(created) }
        return .object(o)
    }

    /// Accepts `dc_<32 hex>`, `<32 hex>` or a UUID.
    static func parseID(_ text: String) -> UUID? {
        var t = text
        if t.hasPrefix("dc_") { t = String(t.dropFirst(3)) }
        return MessageIdentity(parsing: t)?.uuid
    }

    /// One scheduled step of an activation.
    struct ScheduledStep: Sendable, Equatable {
        let index: Int
        let templateID: String
        /// Unix milliseconds.
        let dueAt: Int64
        let message: MessageIdentity
    }

    /// When each step of an activation at `activatedAt` (ms) is due.
    func schedule(tenant: String, activationID: UUID, activatedAt: Int64) -> [ScheduledStep] {
        var due = activatedAt
        return steps.enumerated().map { i, s in
            due += Int64(s.delaySeconds) * 1000
            return ScheduledStep(
                index: i, templateID: s.templateID, dueAt: due,
                message: TriggerEvents.dripMessage(tenant: tenant, activationID: activationID, step: i))
        }
    }
}

/// A validated `POST /drip_campaigns/{id}/activate` body.
struct DripActivation: Sendable {
    let address: String
    let name: String?
    let emailData: JSONObject
    let locale: String?

    static func parse(_ body: JSON) throws(TriggerValidationError) -> DripActivation {
        guard let o = body.objectValue else { throw .invalid("body must be a JSON object") }
        var address: String?
        var name: String?
        if let r = o["recipient"], !r.isNull {
            guard let ro = r.objectValue, let a = ro["address"]?.stringValue else {
                throw .invalid("recipient must be an object with an address")
            }
            address = a
            name = ro["name"]?.stringValue
        } else {
            address = o["recipient_address"]?.stringValue
        }
        guard let raw = address, EmailAddressRules.isValid(raw) else {
            throw .invalid("recipient.address or recipient_address must be a valid email address")
        }
        var emailData = JSONObject()
        if let d = o["email_data"], !d.isNull {
            guard let obj = d.objectValue else { throw .invalid("email_data must be an object") }
            emailData = obj
        }
        var locale: String?
        if let l = o["locale"], !l.isNull {
            guard let s = l.stringValue, s.count <= 20 else { throw .invalid("locale must be a short string") }
            locale = s
        }
        return DripActivation(address: raw.lowercased(), name: name, emailData: emailData, locale: locale)
    }
}
