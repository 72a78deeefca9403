import Crypto
import Foundation
import JSON
import Testing

@testable import Webhooks

/// One RSA key and self-signed certificate for the whole suite (generation takes a while).
let snsAuthority = RSATestAuthority.generate()

/// Builds an SNS envelope like the ones in the SNS developer guide, signed by `authority`.
func signedSNSBody(
    type: String = "Notification", subject: String? = nil, message: String = "Hello world!",
    signatureVersion: String = "1", authority: RSATestAuthority = snsAuthority,
    signWith digest: RSASignatureDigest? = nil, messageID: String = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    tamper: ((inout JSONObject) -> Void)? = nil
) -> [UInt8] {
    var object = JSONObject()
    object["Type"] = .string(type)
    object["MessageId"] = .string(messageID)
    object["TopicArn"] = "arn:aws:sns:us-west-2:123456789012:MyTopic"
    if let subject { object["Subject"] = .string(subject) }
    object["Message"] = .string(message)
    object["Timestamp"] = "2012-05-02T00:54:06.655Z"
    object["SignatureVersion"] = .string(signatureVersion)
    if type != "Notification" {
        object["Token"] = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736"
        object["SubscribeURL"] = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37fb"
    } else {
        object["UnsubscribeURL"] = "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96"
    }
    object["SigningCertURL"] = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
    // Sign what SNS signs, computed here independently of SNSMessage.canonicalString.
    let keys: [String] =
        type == "Notification"
        ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    var canonical = ""
    for key in keys {
        if let value = object[key]?.stringValue { canonical += "\(key)\n\(value)\n" }
    }
    let digestToUse = digest ?? (signatureVersion == "2" ? .sha256 : .sha1)
    object["Signature"] = .string(Base64.encode(authority.sign(Array(canonical.utf8), digest: digestToUse)))
    tamper?(&object)
    return JSON.object(object).bytes
}

@Suite struct SNSMessageTests {
    @Test func parsesNotificationEnvelope() throws {
        let message = try SNSMessage.parse(rawBody: signedSNSBody(subject: "My First Message"))
        #expect(message.type == .notification)
        #expect(message.messageID == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324")
        #expect(message.topicARN == "arn:aws:sns:us-west-2:123456789012:MyTopic")
        #expect(message.subject == "My First Message")
        #expect(message.message == "Hello world!")
        #expect(message.timestampMilliseconds == 1_335_920_046_655)
        #expect(message.subscribeURL == nil && message.token == nil)
        #expect(message.unsubscribeURL?.hasPrefix("https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe") == true)
        #expect(message.isFromTopic(in: ["arn:aws:sns:us-west-2:123456789012:MyTopic"]))
        #expect(!message.isFromTopic(in: ["arn:aws:sns:us-west-2:123456789012:Other"]))
    }

    @Test func canonicalStringForNotificationWithSubject() throws {
        let message = try SNSMessage.parse(rawBody: signedSNSBody(subject: "My First Message"))
        #expect(message.canonicalString == """
            Message
            Hello world!
            MessageId
            22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324
            Subject
            My First Message
            Timestamp
            2012-05-02T00:54:06.655Z
            TopicArn
            arn:aws:sns:us-west-2:123456789012:MyTopic
            Type
            Notification

            """)
    }

    @Test func canonicalStringForNotificationWithoutSubject() throws {
        let message = try SNSMessage.parse(rawBody: signedSNSBody(message: "line one\nline \"two\""))
        #expect(message.subject == nil)
        #expect(message.canonicalString == """
            Message
            line one
            line "two"
            MessageId
            22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324
            Timestamp
            2012-05-02T00:54:06.655Z
            TopicArn
            arn:aws:sns:us-west-2:123456789012:MyTopic
            Type
            Notification

            """)
    }

    @Test func canonicalStringForSubscriptionConfirmation() throws {
        let message = try SNSMessage.parse(
            rawBody: signedSNSBody(
                type: "SubscriptionConfirmation",
                message: "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message."
            ))
        #expect(message.type == .subscriptionConfirmation)
        #expect(message.token?.hasPrefix("2336412f37fb") == true)
        #expect(message.canonicalString == """
            Message
            You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.
            To confirm the subscription, visit the SubscribeURL included in this message.
            MessageId
            22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324
            SubscribeURL
            https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37fb
            Timestamp
            2012-05-02T00:54:06.655Z
            Token
            \(message.token!)
            TopicArn
            arn:aws:sns:us-west-2:123456789012:MyTopic
            Type
            SubscriptionConfirmation

            """)
    }

    @Test(arguments: ["1", "2"])
    func verifiesBothSignatureVersions(version: String) throws {
        for type in ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"] {
            for subject in [nil, "Amazon SES Email Event Notification"] {
                let message = try SNSMessage.parse(rawBody: signedSNSBody(type: type, subject: subject, signatureVersion: version))
                #expect(message.verify(certificate: snsAuthority.certificate), "\(type) v\(version)")
                #expect(message.verify(certificate: snsAuthority.certificate, now: Date()))
            }
        }
    }

    @Test func rejectsWrongDigestWrongCertificateAndTampering() throws {
        // Signed with SHA-1 but claims version 2, and the reverse.
        let mismatched = try SNSMessage.parse(rawBody: signedSNSBody(signatureVersion: "2", signWith: .sha1))
        #expect(!mismatched.verify(certificate: snsAuthority.certificate))
        let mismatched1 = try SNSMessage.parse(rawBody: signedSNSBody(signatureVersion: "1", signWith: .sha256))
        #expect(!mismatched1.verify(certificate: snsAuthority.certificate))
        // Another key signed it.
        let other = RSATestAuthority.generate()
        let forged = try SNSMessage.parse(rawBody: signedSNSBody(authority: other))
        #expect(!forged.verify(certificate: snsAuthority.certificate))
        #expect(forged.verify(certificate: other.certificate))
        // Message changed after signing.
        let tampered = try SNSMessage.parse(rawBody: signedSNSBody { $0["Message"] = "Hello world?" })
        #expect(!tampered.verify(certificate: snsAuthority.certificate))
        // A subject added after signing.
        let addedSubject = try SNSMessage.parse(rawBody: signedSNSBody { $0["Subject"] = "injected" })
        #expect(!addedSubject.verify(certificate: snsAuthority.certificate))
        // Garbage signatures.
        let garbage = try SNSMessage.parse(rawBody: signedSNSBody { $0["Signature"] = "bm90IGEgc2lnbmF0dXJl" })
        #expect(!garbage.verify(certificate: snsAuthority.certificate))
        let notBase64 = try SNSMessage.parse(rawBody: signedSNSBody { $0["Signature"] = "***" })
        #expect(!notBase64.verify(certificate: snsAuthority.certificate))
        // Certificate outside its validity period.
        let good = try SNSMessage.parse(rawBody: signedSNSBody())
        #expect(!good.verify(certificate: snsAuthority.certificate, now: Date(timeIntervalSince1970: 0)))
    }

    @Test func rejectsMalformedEnvelopes() {
        #expect(throws: WebhookError.self) { try SNSMessage.parse(rawBody: signedSNSBody().dropLast(10)) }
        #expect(throws: WebhookError.self) { try SNSMessage.parse(rawBody: Array("[]".utf8)) }
        #expect(throws: WebhookError.invalidField("SignatureVersion", in: "SNS message")) {
            try SNSMessage.parse(rawBody: signedSNSBody(signatureVersion: "3"))
        }
        #expect(throws: WebhookError.invalidField("Type", in: "SNS message")) {
            try SNSMessage.parse(rawBody: signedSNSBody { $0["Type"] = "Surprise" })
        }
        #expect(throws: WebhookError.missingField("SubscribeURL", in: "SNS message")) {
            try SNSMessage.parse(rawBody: signedSNSBody(type: "SubscriptionConfirmation") { $0["SubscribeURL"] = nil })
        }
        #expect(throws: WebhookError.missingField("Signature", in: "SNS message")) {
            try SNSMessage.parse(rawBody: signedSNSBody { $0["Signature"] = nil })
        }
        #expect(throws: WebhookError.invalidField("Timestamp", in: "SNS message")) {
            try SNSMessage.parse(rawBody: signedSNSBody { $0["Timestamp"] = "yesterday" })
        }
        #expect(throws: WebhookError.invalidField("Message", in: "SNS message")) {
            try SNSMessage.parse(rawBody: signedSNSBody { $0["Message"] = 42 })
        }
    }

    @Test func sesEventsRequireANotification() throws {
        let confirmation = try SNSMessage.parse(rawBody: signedSNSBody(type: "SubscriptionConfirmation"))
        #expect(throws: WebhookError.self) { try confirmation.sesEvents() }
    }
}
