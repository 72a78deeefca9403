import Domain
import EventStore
import Foundation
import JSON
import Webhooks

/// How a normalised ``ProviderEvent`` is written: the `message.provider_event` data (without the
/// log it belongs to), the `webhook.unmatched` data that keeps it until its log appears, and the
/// ids of the events derived from it.
enum ProviderEventRecord {
    /// The clear data of `message.provider_event`, minus `message_id` and `log_id`. The
    /// provider's free text (its message, bounce diagnostic, clicked link) is stored without
    /// email addresses (`AddressRedaction`): it is in clear, where erasure cannot reach.
    static func logEventData(_ event: ProviderEvent) -> JSONObject {
        let log = event.logEvent
        var data: JSONObject = [
            "status": .string(log.status.rawValue),
            "occurred_at": .int64(log.occurredAtMilliseconds),
            "provider": .string(event.provider.rawValue),
            "provider_event_id": .string(event.providerEventKey),
        ]
        if let message = log.message { data["message"] = .string(AddressRedaction.redacting(message)) }
        var details = JSONObject()
        if let v = log.details.bounceType { details["bounce_type"] = .string(v) }
        if let v = log.details.bounceSubType { details["bounce_sub_type"] = .string(v) }
        if let v = log.details.bounceDetails { details["bounce_details"] = .string(AddressRedaction.redacting(v)) }
        if let v = log.details.complaintType { details["complaint_type"] = .string(v) }
        if let v = log.details.url { details["url"] = .string(AddressRedaction.redacting(v)) }
        data["details"] = .object(details)
        return data
    }

    /// `logEventData` completed with the log: the `message.provider_event` data.
    static func attached(_ data: JSONObject, to log: CorrelatedLog) -> JSON {
        var full: JSONObject = ["message_id": .string(log.messageID), "log_id": .string(log.logID)]
        for (k, v) in data { full[k] = v }
        return .object(full)
    }

    /// The `message.provider_event` for a matched event.
    static func matchedEvent(_ event: ProviderEvent, log: CorrelatedLog, requestID: String) -> NewEvent {
        NewEvent(
            id: event.eventID, type: EventCatalog.messageProviderEvent, data: attached(logEventData(event), to: log),
            metadata: metadata(event.provider, requestID: requestID))
    }

    /// The `webhook.unmatched` event keeping `event` until its log appears.
    static func unmatchedEvent(_ event: ProviderEvent, keys: CorrelationKeys, requestID: String) -> NewEvent {
        var data: JSONObject = ["event_id": .string(event.eventID.uuidString.lowercased())]
        for (k, v) in logEventData(event) { data[k] = v }
        if let v = event.logID { data["log_id"] = .string(v) }
        if let v = keys.messageIDHeader { data["message_id_header"] = .string(v) }
        if let v = keys.providerMessageID { data["provider_message_id"] = .string(v) }
        return NewEvent(
            id: unmatchedID(event.eventID), type: WebhookEvents.unmatched, data: .object(data),
            metadata: metadata(event.provider, requestID: requestID))
    }

    /// The id of the `webhook.unmatched` event of a provider event id.
    static func unmatchedID(_ eventID: UUID) -> UUID { WebhookEvents.derivedID(WebhookEvents.unmatched, from: eventID) }
    /// The id of the `suppression.added` event of a provider event id.
    static func suppressionID(_ eventID: UUID) -> UUID {
        WebhookEvents.derivedID(WebhookEvents.suppressionAdded, from: eventID)
    }

    static func metadata(_ provider: MailProvider, requestID: String) -> JSON {
        var m: JSONObject = ["actor": .string("webhook:\(provider.rawValue)")]
        if !requestID.isEmpty { m["request_id"] = .string(requestID) }
        return .object(m)
    }

    /// The `webhook.unmatched` data as the pending row keeps it: the log event data and keys.
    struct Pending: Sendable {
        var eventID: UUID
        var provider: String
        var logEventData: JSONObject
        var keys: CorrelationKeys

        /// Reads a recorded `webhook.unmatched` event; nil when it is not one we can use.
        init?(_ data: JSON) {
            guard case .object(var object) = data, let idText = object["event_id"]?.stringValue,
                let id = UUID(uuidString: idText), let provider = object["provider"]?.stringValue
            else { return nil }
            keys = CorrelationKeys(
                logID: object["log_id"]?.stringValue, messageIDHeader: object["message_id_header"]?.stringValue,
                providerMessageID: object["provider_message_id"]?.stringValue)
            for key in ["event_id", "log_id", "message_id_header", "provider_message_id"] { object[key] = nil }
            eventID = id
            self.provider = provider
            logEventData = object
        }
    }
}
