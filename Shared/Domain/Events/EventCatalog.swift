import Foundation
import UUIDText

/// Every event type in the shared table, with its stream and payload. Personal data never
/// appears in clear: it sits in a `sealed` member (AES-256-GCM under the subject's key, named by
/// `key_id` in the metadata), and subjects are named by `subject` = keyed hash of the customer id
/// or address. Clear members are the non-personal facts projections and ordering need.
public enum EventCatalog {
    // MARK: Customers (written by ingest). Stream: `customer-<subject>` for profile events
    // (upserted, deleted); `tracked-<32 hex digits of the event id>` for each tracked event.

    /// A customer was created or updated (merge). Clear: `subject`, `source`
    /// ("sendwithus" | "customerio"), `occurred_at` (ms). Sealed: `id`, `email`?, `attributes`,
    /// `locale`?, `created_at`? (seconds, customer.io).
    public static let customerUpserted = "customer.upserted"
    /// A customer was deleted: a tombstone with no personal data. Clear: `subject`, `occurred_at`.
    public static let customerDeleted = "customer.deleted"
    /// A tracked event. Clear: `subject`, `name`, `occurred_at` (ms; the client's `timestamp`
    /// when given). Sealed: `id` (customer id), `data`.
    public static let customerEventTracked = "customer.event_tracked"

    // MARK: Audit. Stream: `audit`.

    /// Who erased which subject and when, without the erased data. Clear: `subject`,
    /// `actor` (site id), `destroyed_key_ids`, `occurred_at`.
    public static let erasureRecorded = "audit.erasure_recorded"

    // MARK: Messages (written by delivery). Stream: `message-<32 hex digits of the message id>`.
    // Every message event carries in clear: `message_id` (UUID), `log_id` ("log_" + hex),
    // `status` (a `LogStatus` raw value), `occurred_at` (ms), and optionally `message` (text
    // shown in the log), `provider` (a `MailProvider` raw value).

    /// A send was requested through the API. Clear also: `template_id`, `template_name`,
    /// `template_version`, `locale`, `brand_id`?, `email_type`? (/v1 Type), `recipient_subject`.
    /// Sealed (under the recipient's key): `recipient` {address, name}, `cc`, `bcc`, `sender`,
    /// `email_data`, `headers`, `tags`, `msg_details` (/v1 MsgDetails).
    public static let messageRequested = "message.requested"
    /// Like `messageRequested`, started by a trigger or drip step. Clear also: `trigger_id`?,
    /// `drip_campaign_id`?, `cause_event_id`.
    public static let messageTriggered = "message.triggered"
    /// A resend of an existing log was requested (same log, same message).
    public static let messageResendRequested = "message.resend_requested"
    /// The worker picked the message up.
    public static let messageQueued = "message.queued"
    /// The provider accepted the message. Clear also: `provider_message_id`?, `smtp_reply`?.
    public static let messageSent = "message.sent"
    /// A temporary failure; clear also: `reason`, `attempt`, `next_retry_at` (ms).
    public static let messageFailedToSend = "message.failed_to_send"
    /// Given up (permanent failure, suppression or too many attempts); clear also: `reason`.
    public static let messageDropped = "message.dropped"
    /// What a provider reported later (webhooks). Clear also: `provider_event_id`, `details`
    /// {bounce_type, bounce_sub_type, bounce_details, complaint_type, url}.
    public static let messageProviderEvent = "message.provider_event"

    /// The stream of a customer subject.
    public static func customerStream(subject: String) -> String { "customer-" + subject }
    /// The stream of one tracked event. Tracked events are independent facts: nothing orders
    /// them against each other or against the profile (an erasure reaches them through their
    /// subject's key, and readers follow the global order), so each is a one-event stream rather
    /// than a version of the customer's. The customer stream stays small (an erasure reads it
    /// whole), and as event ids are time-ordered, a new entry of the `(tenant, stream, version)`
    /// index lands at its right edge instead of on the leaf of one of many customers.
    public static func trackedEventStream(eventID: UUID) -> String { eventID.hexText(dashed: false, prefix: "tracked-") }
    /// The stream of a message.
    public static func messageStream(messageHex: String) -> String { messageStreamPrefix + messageHex }
    /// The message hex of a message stream's name; nil for any other stream.
    public static func messageHex(ofStream stream: String) -> Substring? {
        stream.hasPrefix(messageStreamPrefix) ? stream.dropFirst(messageStreamPrefix.count) : nil
    }
    private static let messageStreamPrefix = "message-"
    /// The audit stream.
    public static let auditStream = "audit"
}
