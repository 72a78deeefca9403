import Domain
import EventStore
import Foundation
import Service

/// The event types of triggers and drip campaigns, their streams and their deterministic ids.
///
/// - `trigger.created` (stream `trigger-<32 hex>`): {"trigger_id", "name", "event", "template_id"?,
///   "brand_id"?, "email_type"?, "conditions": [...], "delay_seconds", "occurred_at"}. No personal data.
/// - `trigger.deactivated` (same stream): {"trigger_id", "occurred_at"}.
/// - `drip_campaign.created` (stream `drip_campaign-<32 hex>`): {"drip_campaign_id", "name",
///   "steps": [{"template_id", "delay_seconds"}], "occurred_at"}.
/// - `drip.step_scheduled` (stream `drip-<32 hex of the activation>`): clear {"drip_campaign_id",
///   "activation_id", "step_index", "template_id", "locale", "message_id", "log_id",
///   "status": "scheduled", "due_at" (ms), "recipient_subject", "occurred_at"}; sealed under the
///   recipient's key: {"recipient": {"address", "name"?}, "email_data"}. The query service can list
///   a customer's scheduled drips as the `drip.step_scheduled` events of its recipient subject that
///   have neither a `message.*` event in `message-<message hex>` nor a `drip.step_cancelled`.
/// - `drip.step_cancelled` (same stream): {"drip_campaign_id", "activation_id", "step_index",
///   "message_id", "log_id", "reason", "recipient_subject", "occurred_at"}.
/// - `message.triggered` (stream `message-<32 hex>`): see `TriggeredMessage`.
public enum TriggerEvents {
    public static let triggerCreated = "trigger.created"
    public static let triggerDeactivated = "trigger.deactivated"
    public static let dripCampaignCreated = "drip_campaign.created"
    public static let dripStepScheduled = "drip.step_scheduled"
    public static let dripStepCancelled = "drip.step_cancelled"

    /// 32 lowercase hex digits of a UUID.
    static func hex(_ id: UUID) -> String { MessageIdentity(id).hex }

    static func triggerStream(_ id: UUID) -> String { "trigger-" + hex(id) }
    static func campaignStream(_ id: UUID) -> String { "drip_campaign-" + hex(id) }
    static func activationStream(_ id: UUID) -> String { "drip-" + hex(id) }

    /// The message a trigger sends for one tracked event: the same on every replay and replica.
    static func triggerMessage(tenant: String, triggerID: UUID, causeEventID: UUID) -> MessageIdentity {
        MessageIdentity(DeterministicID.uuid("trigger-message|\(tenant)|\(lowercased(triggerID))|\(lowercased(causeEventID))"))
    }

    /// The message of step `index` of a drip activation.
    static func dripMessage(tenant: String, activationID: UUID, step index: Int) -> MessageIdentity {
        MessageIdentity(DeterministicID.uuid("drip-message|\(tenant)|\(lowercased(activationID))|\(index)"))
    }

    /// The id of the `message.triggered` event of a message.
    static func triggeredEventID(_ message: MessageIdentity) -> UUID {
        DeterministicID.uuid("message-triggered|\(message.messageID)")
    }

    /// The id of the `drip.step_cancelled` event of a drip message.
    static func cancelledEventID(_ message: MessageIdentity) -> UUID {
        DeterministicID.uuid("drip-step-cancelled|\(message.messageID)")
    }

    /// The `drip.step_cancelled` of one step (its id is deterministic: cancelling twice appends once).
    static func stepCancelled(
        message: MessageIdentity, campaignID: String, activationID: UUID, stepIndex: Int, reason: String,
        recipientSubject: String, tenant: String, occurredAt: Int64
    ) -> NewEvent {
        NewEvent(
            id: cancelledEventID(message), type: dripStepCancelled,
            data: [
                "drip_campaign_id": .string(campaignID), "activation_id": .string(lowercased(activationID)),
                "step_index": .int(stepIndex), "message_id": .string(message.messageID), "log_id": .string(message.logID),
                "reason": .string(reason), "recipient_subject": .string(recipientSubject), "occurred_at": .int64(occurredAt),
            ], metadata: ["actor": .string(tenant)])
    }

    /// The transaction advisory lock the dispatcher and a deactivation take on one scheduled
    /// send (an advisory lock assigns no transaction id, so holding it during an append does not
    /// hold back the event readers' horizon the way a row lock would).
    static func sendLockKey(_ id: UUID) -> Int64 {
        let u = id.uuid
        let bytes = [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7]
        return Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    static func lowercased(_ id: UUID) -> String { id.uuidString.lowercased() }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
