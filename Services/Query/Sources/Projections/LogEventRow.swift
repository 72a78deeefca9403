import Domain
import EventStore
import Foundation
import JSON

/// One message event as `query_log_events` keeps it: the non-personal facts `LogTimeline` needs.
struct LogEventRow: Sendable {
    var tenant: String
    var messageID: UUID
    var position: Int64
    var event: MessageLogEvent

    /// The row for a message event; nil when the event is not one (or is malformed). Servers'
    /// and providers' text is kept without email addresses (`AddressRedaction`), also for events
    /// recorded before delivery took them out, so a rebuild leaves none in these rows.
    init?(_ recorded: RecordedEvent) {
        let d = recorded.data
        guard recorded.type.hasPrefix("message."),
            let idText = d["message_id"]?.stringValue, let id = UUID(text: idText),
            let statusText = d["status"]?.stringValue, let status = LogStatus(rawValue: statusText)
        else { return nil }
        let occurred = recorded.occurredAtMilliseconds
        let provider = d["provider"]?.stringValue.flatMap(MailProvider.init(rawValue:)) ?? .platform
        let details = d["details"]
        self.tenant = recorded.tenant
        self.messageID = id
        self.position = recorded.position
        self.event = MessageLogEvent(
            status: status, occurredAtMilliseconds: occurred, provider: provider,
            message: d["message"]?.stringValue.map(AddressRedaction.redacting),
            details: DeliveryDetails(
                bounceType: details?["bounce_type"]?.stringValue, bounceSubType: details?["bounce_sub_type"]?.stringValue,
                bounceDetails: details?["bounce_details"]?.stringValue.map(AddressRedaction.redacting),
                complaintType: details?["complaint_type"]?.stringValue,
                url: details?["url"]?.stringValue.map(AddressRedaction.redacting)))
    }

    /// The event from a `query_log_events` row selected with `LogEventRow.columns`, starting at
    /// column `offset`.
    static func event(from r: PostgresRowReader) -> MessageLogEvent? {
        guard let status = r.string(0).flatMap(LogStatus.init(rawValue:)), let occurred = r.int64(1) else { return nil }
        return MessageLogEvent(
            status: status, occurredAtMilliseconds: occurred,
            provider: r.string(2).flatMap(MailProvider.init(rawValue:)) ?? .platform, message: r.string(3),
            details: DeliveryDetails(
                bounceType: r.string(4), bounceSubType: r.string(5), bounceDetails: r.string(6), complaintType: r.string(7),
                url: r.string(8)))
    }

    /// The columns `event(from:)` reads, in order.
    static let columns =
        "status, occurred_at, provider, message, bounce_type, bounce_sub_type, bounce_details, complaint_type, url"
}
