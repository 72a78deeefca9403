import Crypto
import Foundation
import JSON

/// An Amazon SNS HTTP(S) delivery: the JSON envelope SNS posts, its canonical string-to-sign,
/// and its RSA signature check.
///
/// Verification needs the certificate at ``signingCertURL``; the caller checks that URL with
/// ``SNSCertificateURLPolicy`` before fetching it over HTTPS, then calls ``verify(certificate:now:)``.
public struct SNSMessage: Sendable, Hashable {
    /// The envelope's `Type`.
    public enum Kind: String, Sendable, Hashable {
        case subscriptionConfirmation = "SubscriptionConfirmation"
        case notification = "Notification"
        case unsubscribeConfirmation = "UnsubscribeConfirmation"
    }

    public var type: Kind
    /// SNS's unique id of this message (retries keep it).
    public var messageID: String
    public var topicARN: String
    /// Only on notifications published with a subject.
    public var subject: String?
    /// The payload: for SES, the notification JSON (see ``SESNotification``).
    public var message: String
    /// `Timestamp` as sent (ISO 8601).
    public var timestamp: String
    /// `Timestamp` as unix milliseconds.
    public var timestampMilliseconds: Int64
    /// `"1"` (SHA1withRSA) or `"2"` (SHA256withRSA).
    public var signatureVersion: String
    /// Base64 signature.
    public var signature: String
    public var signingCertURL: String
    /// On confirmations: the URL to GET to confirm the subscription.
    public var subscribeURL: String?
    /// On confirmations: the confirmation token.
    public var token: String?
    /// On notifications: the URL to unsubscribe.
    public var unsubscribeURL: String?

    /// Parses the envelope. Throws for malformed JSON, an unknown `Type`, a `SignatureVersion`
    /// other than 1 or 2, or a missing field the type requires (confirmations need
    /// `SubscribeURL` and `Token`).
    public static func parse(rawBody: some Collection<UInt8>) throws(WebhookError) -> SNSMessage {
        let fields = try EventFields(JSON.parseWebhookBody(rawBody), place: "SNS message", what: "body")
        let typeText = try fields.requiredString("Type")
        guard let type = Kind(rawValue: typeText) else { throw .invalidField("Type", in: fields.place) }
        let version = try fields.requiredString("SignatureVersion")
        guard RSASignatureDigest(snsSignatureVersion: version) != nil else {
            throw .invalidField("SignatureVersion", in: fields.place)
        }
        var subscribeURL: String? = nil
        var token: String? = nil
        if type != .notification {
            subscribeURL = try fields.requiredString("SubscribeURL")
            token = try fields.requiredString("Token")
        }
        return SNSMessage(
            type: type, messageID: try fields.requiredString("MessageId"), topicARN: try fields.requiredString("TopicArn"),
            subject: type == .notification ? try fields.string("Subject") : nil,
            message: try fields.requiredString("Message"), timestamp: try fields.requiredString("Timestamp"),
            timestampMilliseconds: try fields.isoTimeAsMilliseconds("Timestamp"), signatureVersion: version,
            signature: try fields.requiredString("Signature"), signingCertURL: try fields.requiredString("SigningCertURL"),
            subscribeURL: subscribeURL, token: token, unsubscribeURL: try fields.string("UnsubscribeURL"))
    }

    /// The string SNS signs: for a notification `Message`, `MessageId`, `Subject` (only when
    /// present), `Timestamp`, `TopicArn`, `Type`; for confirmations `Message`, `MessageId`,
    /// `SubscribeURL`, `Timestamp`, `Token`, `TopicArn`, `Type`; each as `name\nvalue\n`.
    public var canonicalString: String {
        var pairs: [(String, String)] = [("Message", message), ("MessageId", messageID)]
        switch type {
        case .notification:
            if let subject { pairs.append(("Subject", subject)) }
        case .subscriptionConfirmation, .unsubscribeConfirmation:
            pairs.append(("SubscribeURL", subscribeURL ?? ""))
        }
        pairs.append(("Timestamp", timestamp))
        if type != .notification { pairs.append(("Token", token ?? "")) }
        pairs.append(("TopicArn", topicARN))
        pairs.append(("Type", type.rawValue))
        var text = ""
        for (name, value) in pairs {
            text += name
            text += "\n"
            text += value
            text += "\n"
        }
        return text
    }

    /// True when ``signature`` is a valid RSA signature of ``canonicalString`` under
    /// `certificate`'s key: SHA1withRSA for `SignatureVersion` 1, SHA256withRSA for 2. When
    /// `now` is given the certificate must also be within its validity period then.
    public func verify(certificate: X509Certificate, now: Date? = nil) -> Bool {
        guard let digest = RSASignatureDigest(snsSignatureVersion: signatureVersion),
            let signatureBytes = Base64.decode(signature), !signatureBytes.isEmpty
        else { return false }
        if let now, !certificate.isValid(at: now) { return false }
        return certificate.isValidRSASignature(signatureBytes, for: Array(canonicalString.utf8), digest: digest)
    }

    /// True when ``topicARN`` is one of `allowedTopicARNs` (the tenant's configured topics).
    public func isFromTopic(in allowedTopicARNs: [String]) -> Bool {
        allowedTopicARNs.contains(topicARN)
    }

    /// The SES events of a `Notification` (its ``message`` parsed by ``SESNotification``, event
    /// ids derived from ``messageID``). Throws for other types or a malformed SES message.
    public func sesEvents() throws(WebhookError) -> ProviderEventBatch {
        guard type == .notification else { throw .unexpectedShape("SNS message is not a Notification") }
        return try SESNotification.parseBatch(message: message, snsMessageID: messageID)
    }
}
