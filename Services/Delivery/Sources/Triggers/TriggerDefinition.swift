import Foundation
import JSON

/// What a trigger does: when a tracked event named `event` arrives for a customer with an email
/// and every condition holds, send `templateID` (or the brand's template of `emailType`) after
/// `delaySeconds`.
struct TriggerDefinition: Sendable, Equatable {
    /// /v1 Types a brand trigger may use.
    static let emailTypes: Set<String> = ["token", "group", "tokenAndGroup", "purchase"]
    static let maximumDelay = 90 * 24 * 3600

    let id: UUID
    let name: String
    let event: String
    let templateID: String?
    let brandID: String?
    let emailType: String?
    let conditions: [TriggerCondition]
    let delaySeconds: Int

    /// Validates a `POST /triggers` body.
    static func parse(_ body: JSON, id: UUID) throws(TriggerValidationError) -> TriggerDefinition {
        guard let o = body.objectValue else { throw .invalid("body must be a JSON object") }
        guard let name = o["name"]?.stringValue, !name.isEmpty, name.count <= 200 else {
            throw .invalid("name is required (a string of 1 to 200 characters)")
        }
        guard let event = o["event"]?.stringValue, !event.isEmpty, event.count <= 200 else {
            throw .invalid("event is required (the tracked event name)")
        }
        let templateID = try optionalString(o["template_id"], "template_id")
        let brandID = try optionalString(o["brand_id"], "brand_id")
        let emailType = try optionalString(o["type"], "type")
        switch (templateID, brandID, emailType) {
        case (_?, nil, nil): break
        case (nil, _?, let t?):
            guard emailTypes.contains(t) else { throw .invalid("type must be one of token, group, tokenAndGroup, purchase") }
        default: throw .invalid("give either template_id, or brand_id and type")
        }
        var delay = 0
        if let d = o["delay_seconds"], !d.isNull {
            guard let v = d.intValue, v >= 0, v <= maximumDelay else {
                throw .invalid("delay_seconds must be a whole number from 0 to \(maximumDelay)")
            }
            delay = v
        }
        return TriggerDefinition(
            id: id, name: name, event: event, templateID: templateID, brandID: brandID, emailType: emailType,
            conditions: try TriggerCondition.parseList(o["conditions"]), delaySeconds: delay)
    }

    private static func optionalString(_ v: JSON?, _ field: String) throws(TriggerValidationError) -> String? {
        guard let v, !v.isNull else { return nil }
        guard let s = v.stringValue, !s.isEmpty, s.count <= 200 else { throw .invalid("\(field) must be a non-empty string") }
        return s
    }

    /// The clear data of `trigger.created` (and the stored definition).
    var eventData: JSONObject {
        var o: JSONObject = [
            "trigger_id": .string(TriggerEvents.lowercased(id)), "name": .string(name), "event": .string(event),
        ]
        if let templateID { o["template_id"] = .string(templateID) }
        if let brandID { o["brand_id"] = .string(brandID) }
        if let emailType { o["email_type"] = .string(emailType) }
        o["conditions"] = .array(conditions.map(\.json))
        o["delay_seconds"] = .int(delaySeconds)
        return o
    }

    /// Reads the definition back from `trigger.created` data (or a stored row's JSON).
    init?(eventData o: JSONObject) {
        guard let idText = o["trigger_id"]?.stringValue, let id = UUID(uuidString: idText),
            let name = o["name"]?.stringValue, let event = o["event"]?.stringValue
        else { return nil }
        self.id = id
        self.name = name
        self.event = event
        templateID = o["template_id"]?.stringValue
        brandID = o["brand_id"]?.stringValue
        emailType = o["email_type"]?.stringValue
        conditions = (try? TriggerCondition.parseList(o["conditions"])) ?? []
        delaySeconds = o["delay_seconds"]?.intValue ?? 0
    }

    init(
        id: UUID, name: String, event: String, templateID: String?, brandID: String?, emailType: String?,
        conditions: [TriggerCondition], delaySeconds: Int
    ) {
        self.id = id
        self.name = name
        self.event = event
        self.templateID = templateID
        self.brandID = brandID
        self.emailType = emailType
        self.conditions = conditions
        self.delaySeconds = delaySeconds
    }

    /// The response shape: `{"id", "name", "event", "template_id"?, "brand_id"?, "type"?, "conditions",
    /// "delay_seconds", "active", "created"}`.
    func response(active: Bool, created: Int64) -> JSON {
        var o: JSONObject = ["id": .string(TriggerEvents.lowercased(id)), "name": .string(name), "event": .string(event)]
        if let templateID { o["template_id"] = .string(templateID) }
        if let brandID { o["brand_id"] = .string(brandID) }
        if let emailType { o["type"] = .string(emailType) }
        o["conditions"] = .array(conditions.map(\.json))
        o["delay_seconds"] = .int(delaySeconds)
        o["active"] = .bool(active)
        o["created"] = .int64(created)
        return .object(o)
    }
}
