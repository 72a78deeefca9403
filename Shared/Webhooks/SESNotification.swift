import Domain
import Foundation
import JSON

/// Amazon SES notifications and event-publishing records, as carried in an SNS `Message`.
///
/// Reads `notificationType` (SES notifications) or `eventType` (event publishing): Bounce,
/// Complaint, Delivery, Send, Reject, Open, Click, DeliveryDelay. Events naming recipients
/// (Bounce, Complaint, Delivery, DeliveryDelay) give one ``ProviderEvent`` per recipient, keyed
/// `"<SNS MessageId>#<index>"` when there are several and `"<SNS MessageId>"` when there is one.
/// Correlation: `mail.messageId` → providerMessageID; `mail.commonHeaders.messageId` (or the
/// `Message-ID` in `mail.headers`) → messageIDHeader; the first `log_id` message tag → logID.
public enum SESNotification {
    /// The recognised events of an SES message (others are left out).
    public static func parse(message: String, snsMessageID: String) throws(WebhookError) -> [ProviderEvent] {
        try parseBatch(message: message, snsMessageID: snsMessageID).events
    }

    /// Parses the SES JSON. Throws for malformed JSON or missing required parts; an unknown
    /// type (e.g. `Rendering Failure`, `Subscription`) is returned in `skipped`.
    public static func parseBatch(message: String, snsMessageID: String) throws(WebhookError) -> ProviderEventBatch {
        let root = try EventFields(JSON.parseWebhookBody(Array(message.utf8)), place: "SES message", what: "SES message")
        let type: String
        if let notificationType = try root.string("notificationType") {
            type = notificationType
        } else if let eventType = try root.string("eventType") {
            type = eventType
        } else {
            throw .missingField("notificationType", in: root.place)
        }
        guard let mail = try root.object("mail") else { throw .missingField("mail", in: root.place) }
        let correlation = try Correlation(mail)
        var builder = Builder(snsMessageID: snsMessageID, correlation: correlation)
        switch type {
        case "Bounce":
            let bounce = try section(root, "bounce")
            let bounceType = try bounce.string("bounceType")
            let subType = try bounce.string("bounceSubType")
            let occurred = try bounce.isoTimeAsMilliseconds("timestamp")
            let recipients = try recipientList(bounce, "bouncedRecipients")
            for (index, recipient) in recipients.enumerated() {
                let diagnostic = try recipient.string("diagnosticCode")
                builder.add(
                    status: .bounced, at: occurred, index: index, of: recipients.count,
                    recipient: try recipient.string("emailAddress"),
                    message: ProviderEvent.message(.bounced, .ses, detail: diagnostic),
                    details: DeliveryDetails(bounceType: bounceType, bounceSubType: subType, bounceDetails: diagnostic),
                    suppresses: bounceType == "Permanent")
            }
        case "Complaint":
            let complaint = try section(root, "complaint")
            let feedbackType = try complaint.string("complaintFeedbackType")
            let occurred = try complaint.isoTimeAsMilliseconds("timestamp")
            let recipients = try recipientList(complaint, "complainedRecipients")
            for (index, recipient) in recipients.enumerated() {
                builder.add(
                    status: .reportedAsSpam, at: occurred, index: index, of: recipients.count,
                    recipient: try recipient.string("emailAddress"),
                    details: DeliveryDetails(complaintType: feedbackType), suppresses: true)
            }
        case "Delivery":
            let delivery = try section(root, "delivery")
            let occurred = try delivery.isoTimeAsMilliseconds("timestamp")
            let recipients = try stringList(delivery, "recipients")
            for (index, recipient) in recipients.enumerated() {
                builder.add(status: .delivered, at: occurred, index: index, of: recipients.count, recipient: recipient)
            }
        case "DeliveryDelay":
            let delay = try section(root, "deliveryDelay")
            let occurred = try delay.isoTimeAsMilliseconds("timestamp")
            let delayType = try delay.string("delayType")
            let recipients = try recipientList(delay, "delayedRecipients")
            for (index, recipient) in recipients.enumerated() {
                let diagnostic = try recipient.string("diagnosticCode")
                builder.add(
                    status: .deferred, at: occurred, index: index, of: recipients.count,
                    recipient: try recipient.string("emailAddress"),
                    message: ProviderEvent.message(.deferred, .ses, detail: diagnostic ?? delayType),
                    details: DeliveryDetails(bounceSubType: delayType, bounceDetails: diagnostic))
            }
        case "Send":
            builder.addPerMessage(status: .processed, at: try mail.isoTimeAsMilliseconds("timestamp"), mail: mail)
        case "Reject":
            let reason = try root.object("reject")?.string("reason")
            builder.addPerMessage(
                status: .dropped, at: try mail.isoTimeAsMilliseconds("timestamp"), mail: mail,
                message: ProviderEvent.message(.dropped, .ses, detail: reason),
                details: DeliveryDetails(bounceDetails: reason))
        case "Open":
            let open = try section(root, "open")
            builder.addPerMessage(status: .opened, at: try open.isoTimeAsMilliseconds("timestamp"), mail: mail)
        case "Click":
            let click = try section(root, "click")
            builder.addPerMessage(
                status: .clicked, at: try click.isoTimeAsMilliseconds("timestamp"), mail: mail,
                details: DeliveryDetails(url: try click.string("link")))
        default:
            return ProviderEventBatch(skipped: [SkippedProviderEvent(index: 0, eventType: type)])
        }
        return ProviderEventBatch(events: builder.events)
    }

    private static func section(_ root: EventFields, _ key: String) throws(WebhookError) -> EventFields {
        guard let section = try root.object(key) else { throw .missingField(key, in: root.place) }
        return EventFields(section.object, place: "SES message \(key)")
    }

    private static func recipientList(_ section: EventFields, _ key: String) throws(WebhookError) -> [EventFields] {
        guard let items = try section.array(key) else { throw .missingField(key, in: section.place) }
        var list: [EventFields] = []
        for item in items {
            guard case .object(let object) = item else { throw .invalidField(key, in: section.place) }
            list.append(EventFields(object, place: section.place))
        }
        return list
    }

    private static func stringList(_ section: EventFields, _ key: String) throws(WebhookError) -> [String] {
        guard let items = try section.array(key) else { throw .missingField(key, in: section.place) }
        var list: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw .invalidField(key, in: section.place) }
            list.append(text)
        }
        return list
    }

    /// The correlation keys found in `mail`.
    private struct Correlation {
        var providerMessageID: String?
        var messageIDHeader: String?
        var logID: String?

        init(_ mail: EventFields) throws(WebhookError) {
            providerMessageID = try mail.string("messageId")
            var header = try mail.object("commonHeaders")?.string("messageId")
            if header == nil, let headers = try mail.array("headers") {
                for case .object(let entry) in headers {
                    if entry["name"]?.stringValue?.lowercased() == "message-id" {
                        header = entry["value"]?.stringValue
                        break
                    }
                }
            }
            messageIDHeader = ProviderEvent.normalizedMessageID(header)
            if let tags = try mail.object("tags"), case .array(let values)? = tags.value("log_id") {
                logID = values.first?.stringValue
            }
        }
    }

    /// Accumulates events that share the message's correlation keys.
    private struct Builder {
        let snsMessageID: String
        let correlation: Correlation
        var events: [ProviderEvent] = []

        init(snsMessageID: String, correlation: Correlation) {
            self.snsMessageID = snsMessageID
            self.correlation = correlation
        }

        mutating func add(
            status: LogStatus, at occurred: Int64, index: Int, of count: Int, recipient: String?,
            message: String? = nil, details: DeliveryDetails = .none, suppresses: Bool = false
        ) {
            events.append(
                ProviderEvent(
                    provider: .ses, providerEventKey: count > 1 ? "\(snsMessageID)#\(index)" : snsMessageID,
                    status: status, occurredAtMilliseconds: occurred, logID: correlation.logID,
                    messageIDHeader: correlation.messageIDHeader, providerMessageID: correlation.providerMessageID,
                    recipient: recipient, message: message, details: details, suppresses: suppresses))
        }

        /// One event for the message; the recipient is named when `mail.destination` has one.
        mutating func addPerMessage(
            status: LogStatus, at occurred: Int64, mail: EventFields, message: String? = nil,
            details: DeliveryDetails = .none
        ) {
            let destination = (try? mail.array("destination")) ?? nil
            let recipient = destination?.count == 1 ? destination?.first?.stringValue : nil
            add(status: status, at: occurred, index: 0, of: 1, recipient: recipient, message: message, details: details)
        }
    }
}
