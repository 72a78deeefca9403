import Crypto
import Foundation

/// The event types and streams the webhook module adds to the shared table (besides
/// `message.provider_event`, which is in `EventCatalog`). No personal data in clear.
public enum WebhookEvents {
    /// A provider event that matched no log when it arrived. Stream: ``pendingStream(tenant:shard:)``.
    /// Clear: `event_id` (the id the `message.provider_event` will carry once attached),
    /// `provider`, `provider_event_id`, `status`, `occurred_at`, `message`?, `details`, and the
    /// correlation keys `log_id`?, `message_id_header`?, `provider_message_id`?. The recipient
    /// address is not kept here (its suppression is recorded at once, sealed).
    public static let unmatched = "webhook.unmatched"

    /// An address must not be sent to any more (permanent bounce, complaint, unsubscribe).
    /// Stream: ``suppressionStream(addressSubject:)``. Clear: `address_subject` (subject hash of
    /// the lowercased address), `reason` (the log status that caused it: `bounced`,
    /// `reported_as_spam` or `unsubscribed`), `source` (provider raw value), `occurred_at`,
    /// `log_id`? and `provider_event_id`. Sealed under the address subject's key: {"address"}.
    public static let suppressionAdded = "suppression.added"

    /// Amazon SNS posted a `SubscriptionConfirmation` or `UnsubscribeConfirmation` for a
    /// configured topic. Stream: ``snsStream(tenant:)``. Clear: `sns_type`, `topic_arn`,
    /// `sns_message_id`, `occurred_at`. (The `SubscribeURL` is a capability and is not stored.)
    public static let snsSubscriptionReceived = "webhook.sns_subscription_received"

    /// We confirmed an SNS subscription (the GET of `SubscribeURL` succeeded). Same clear
    /// members as ``snsSubscriptionReceived``.
    public static let snsSubscriptionConfirmed = "webhook.sns_subscription_confirmed"

    /// How many streams a tenant's unmatched events are spread over.
    public static let pendingShards = 8

    /// Unmatched provider events of a tenant that arrived in requests of shard `shard`, in
    /// arrival order: `webhook-pending-<tenant>-<shard>`. One stream per tenant made concurrent
    /// webhook requests (and the event store's committers) race for its next version.
    public static func pendingStream(tenant: String, shard: Int) -> String {
        "webhook-pending-" + tenant + "-" + String(shard)
    }

    /// The shard of a request (FNV-1a of its id; the same request always lands on the same one).
    public static func pendingShard(requestID: String) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in requestID.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return Int(h % UInt64(pendingShards))
    }
    /// Suppressions of one address.
    public static func suppressionStream(addressSubject: String) -> String { "suppression-" + addressSubject }
    /// SNS subscription messages of a tenant.
    public static func snsStream(tenant: String) -> String { "webhook-sns-" + tenant }

    /// A name-based UUID for an event derived from another one (`kind` names the derivation):
    /// SHA-256 of `"<kind>:<source id>"`, version 5 and RFC 4122 variant bits. A retry of the
    /// same provider event always derives the same ids.
    public static func derivedID(_ kind: String, from source: UUID) -> UUID {
        derivedID(kind, key: source.uuidString.lowercased())
    }

    /// ``derivedID(_:from:)`` from a text key.
    public static func derivedID(_ kind: String, key: String) -> UUID {
        var b = SHA256.hash(Array("\(kind):\(key)".utf8))
        b[6] = (b[6] & 0x0f) | 0x50
        b[8] = (b[8] & 0x3f) | 0x80
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
