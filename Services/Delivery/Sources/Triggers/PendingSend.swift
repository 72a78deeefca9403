import Domain
import EventStore
import Foundation
import JSON

/// A `message.triggered` decided but not appended yet: what the scheduling table holds until the
/// dispatcher appends it at `dueAt`. Its message id is deterministic (trigger + tracked event, or
/// drip activation + step), so appending it twice appends it once.
struct PendingSend: Sendable, Equatable {
    enum Kind: String, Sendable { case trigger, drip }

    let tenant: String
    let message: MessageIdentity
    let kind: Kind
    /// Unix milliseconds.
    let dueAt: Int64
    /// Lowercased recipient address (its subject hash names the sealing key).
    let recipientAddress: String
    /// Clear members of the event: template_id, template_name, template_version, locale, brand_id?,
    /// email_type?, trigger_id?, drip_campaign_id?, cause_event_id, message. The dispatcher names
    /// the template (`TriggeredTemplate`) when it appends.
    var clear: JSONObject
    /// The sealed part: recipient, cc, bcc, email_data, headers, tags, msg_details?.
    let personal: JSONObject
    let triggerID: UUID?
    let dripCampaignID: UUID?
    let activationID: UUID?
    let stepIndex: Int?
    let causeEventID: UUID

    /// The stored payload (the scheduling table's `payload` column).
    var payload: JSON { ["clear": .object(clear), "personal": .object(personal)] }

    /// Builds the `message.triggered` event once the personal part is sealed.
    func event(recipientSubject: String, sealed: String, keyID: UUID, occurredAt: Int64) -> StreamAppend {
        var data: JSONObject = [
            "message_id": .string(message.messageID), "log_id": .string(message.logID), "status": "triggered",
            "occurred_at": .int64(occurredAt),
        ]
        for (k, v) in clear.members { data[k] = v }
        data["recipient_subject"] = .string(recipientSubject)
        data["sealed"] = .string(sealed)
        var metadata: JSONObject = [
            "key_id": .string(TriggerEvents.lowercased(keyID)), "actor": .string(tenant),
            "cause_event_id": .string(TriggerEvents.lowercased(causeEventID)),
        ]
        if let triggerID { metadata["trigger_id"] = .string(TriggerEvents.lowercased(triggerID)) }
        if let dripCampaignID { metadata["drip_campaign_id"] = .string(TriggerEvents.lowercased(dripCampaignID)) }
        let event = NewEvent(
            id: TriggerEvents.triggeredEventID(message), type: EventCatalog.messageTriggered, data: .object(data),
            metadata: .object(metadata), keyID: keyID)
        return StreamAppend(tenant: tenant, stream: EventCatalog.messageStream(messageHex: message.hex), events: [event])
    }

    /// The sealed part of a message to one recipient.
    static func personal(address: String, name: String?, emailData: JSONObject, msgDetails: JSONObject?) -> JSONObject {
        var recipient: JSONObject = ["address": .string(address)]
        if let name { recipient["name"] = .string(name) }
        var p: JSONObject = [
            "recipient": .object(recipient), "cc": [], "bcc": [], "email_data": .object(emailData), "headers": .object([:]),
            "tags": [],
        ]
        if let msgDetails { p["msg_details"] = .object(msgDetails) }
        return p
    }
}

/// The trigger process's pure decision: does a tracked event fire a trigger, and what is sent.
enum TriggerDecision {
    /// The send `trigger` makes for a tracked event, or nil (conditions fail, no email).
    /// `email_data` is the event's data over the customer's attributes.
    static func firing(
        _ trigger: TriggerDefinition, tenant: String, causeEventID: UUID, recordedAtMilliseconds: Int64,
        eventData: JSONObject, customer: CustomerProfile
    ) -> PendingSend? {
        guard let email = customer.email?.lowercased(), !email.isEmpty else { return nil }
        guard TriggerCondition.allHold(trigger.conditions, data: eventData, attributes: customer.attributes) else { return nil }
        let message = TriggerEvents.triggerMessage(tenant: tenant, triggerID: trigger.id, causeEventID: causeEventID)
        let emailData = CustomerProfile.merge(existing: customer.attributes, update: eventData)
        var clear: JSONObject = [
            "template_id": .string(trigger.templateID ?? ""), "template_name": "", "template_version": "",
            "locale": .string(customer.locale ?? ""),
            "trigger_id": .string(TriggerEvents.lowercased(trigger.id)),
            "cause_event_id": .string(TriggerEvents.lowercased(causeEventID)),
            "message": .string("triggered by \(trigger.event)"),
        ]
        var details: JSONObject? = nil
        if let brand = trigger.brandID, let type = trigger.emailType {
            clear["brand_id"] = .string(brand)
            clear["email_type"] = .string(type)
            var d: JSONObject = ["To": .string(email), "Type": .string(type), "BrandId": .string(brand)]
            for (field, key) in [("OrderId", "order_id"), ("Token", "token"), ("GroupId", "group_id"), ("NumPhotos", "num_photos")] {
                if let v = eventData[key], !v.isNull { d[field] = v }
            }
            details = d
        }
        return PendingSend(
            tenant: tenant, message: message, kind: .trigger,
            dueAt: recordedAtMilliseconds + Int64(trigger.delaySeconds) * 1000, recipientAddress: email, clear: clear,
            personal: PendingSend.personal(address: email, name: nil, emailData: emailData, msgDetails: details),
            triggerID: trigger.id, dripCampaignID: nil, activationID: nil, stepIndex: nil, causeEventID: causeEventID)
    }
}
