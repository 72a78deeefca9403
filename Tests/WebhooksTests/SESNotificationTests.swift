import Domain
import Foundation
import JSON
import Testing

@testable import Webhooks

/// The `mail` object of the SES documentation's examples (three recipients, original headers).
let sesMail = #"""
    "mail":{"timestamp":"2016-01-27T14:59:38.237Z","source":"john@example.com","sourceArn":"arn:aws:ses:us-east-1:888888888888:identity/example.com","sourceIp":"127.0.3.0","sendingAccountId":"123456789012","callerIdentity":"IAM_user_or_role_name","messageId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000","destination":["jane@example.com","mary@example.com","richard@example.com"],"headersTruncated":false,"headers":[{"name":"From","value":"\"John Doe\" <john@example.com>"},{"name":"To","value":"\"Jane Doe\" <jane@example.com>, \"Mary Doe\" <mary@example.com>, \"Richard Doe\" <richard@example.com>"},{"name":"Message-ID","value":"<log_8c2e@mail.example.com>"},{"name":"Subject","value":"Hello"},{"name":"Content-Type","value":"text/plain; charset=UTF-8"}],"commonHeaders":{"from":["John Doe <john@example.com>"],"date":"Wed, 27 Jan 2016 14:05:45 +0000","to":["Jane Doe <jane@example.com>, Mary Doe <mary@example.com>, Richard Doe <richard@example.com>"],"messageId":"<log_8c2e@mail.example.com>","subject":"Hello"},"tags":{"ses:configuration-set":["ConfigSet"],"log_id":["log_8c2e"]}}
    """#

/// The single-recipient `mail` object of the event-publishing examples, without commonHeaders.
let sesSingleMail = #"""
    "mail":{"timestamp":"2017-08-09T21:59:49.927Z","source":"Sender Name <sender@example.com>","sendingAccountId":"123456789012","messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000","destination":["recipient@example.com"],"headersTruncated":false,"headers":[{"name":"Message-ID","value":"<log_single@mail.example.com>"}]}
    """#

let sesBounce = #"""
    {"notificationType":"Bounce","bounce":{"bounceType":"Permanent","reportingMTA":"dns; email.example.com","bouncedRecipients":[{"emailAddress":"jane@example.com","status":"5.1.1","action":"failed","diagnosticCode":"smtp; 550 5.1.1 <jane@example.com>... User"},{"emailAddress":"mary@example.com","status":"5.1.1","action":"failed","diagnosticCode":"smtp; 550 5.1.1 <mary@example.com>... User"},{"emailAddress":"richard@example.com","status":"5.1.1","action":"failed","diagnosticCode":"smtp; 550 5.1.1 <richard@example.com>... User"}],"bounceSubType":"General","timestamp":"2016-01-27T14:59:38.237Z","feedbackId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000","remoteMtaIp":"127.0.2.0"},\#(sesMail)}
    """#

let sesTransientBounce = #"""
    {"eventType":"Bounce","bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull","bouncedRecipients":[{"emailAddress":"recipient@example.com","action":"failed","status":"4.2.2","diagnosticCode":"smtp; 452 4.2.2 mailbox full"}],"timestamp":"2017-08-05T00:41:02.669Z","feedbackId":"01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000","reportingMTA":"dsn; a8-70.smtp-out.amazonses.com"},\#(sesSingleMail)}
    """#

let sesComplaint = #"""
    {"notificationType":"Complaint","complaint":{"userAgent":"AnyCompany Feedback Loop (V0.01)","complainedRecipients":[{"emailAddress":"richard@example.com"}],"complaintFeedbackType":"abuse","arrivalDate":"2016-01-27T14:59:38.237Z","timestamp":"2016-01-27T14:59:38.237Z","feedbackId":"000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"},\#(sesMail)}
    """#

let sesDelivery = #"""
    {"notificationType":"Delivery","delivery":{"timestamp":"2016-01-27T14:59:38.237Z","recipients":["jane@example.com"],"processingTimeMillis":546,"reportingMTA":"a8-70.smtp-out.amazonses.com","smtpResponse":"250 ok:  Message 64111812 accepted","remoteMtaIp":"127.0.2.0"},\#(sesMail)}
    """#

let sesSend = #"{"eventType":"Send",\#(sesSingleMail),"send":{}}"#
let sesReject = #"{"eventType":"Reject",\#(sesSingleMail),"reject":{"reason":"Bad content"}}"#
let sesOpen = #"""
    {"eventType":"Open",\#(sesSingleMail),"open":{"ipAddress":"192.0.2.1","timestamp":"2017-08-09T22:00:19.652Z","userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X)"}}
    """#
let sesClick = #"""
    {"eventType":"Click","click":{"ipAddress":"192.0.2.1","link":"http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html","linkTags":{"samplekey0":["samplevalue0"]},"timestamp":"2017-08-09T23:51:25.570Z","userAgent":"Mozilla/5.0"},\#(sesSingleMail)}
    """#
let sesDelay = #"""
    {"eventType":"DeliveryDelay",\#(sesSingleMail),"deliveryDelay":{"timestamp":"2020-06-16T00:15:40.641Z","delayType":"TransientCommunicationFailure","expirationTime":"2020-06-16T00:25:40.914Z","delayedRecipients":[{"emailAddress":"recipient@example.com","status":"4.4.1","diagnosticCode":"smtp; 421 4.4.1 Unable to connect to remote host"}]}}
    """#

@Suite struct SESNotificationTests {
    let snsID = "f2a8f2e8-1c3c-5d3b-9a10-2bd4c6a1e7aa"

    @Test func multiRecipientBounceYieldsOneEventPerRecipient() throws {
        let events = try SESNotification.parse(message: sesBounce, snsMessageID: snsID)
        #expect(events.map(\.recipient) == ["jane@example.com", "mary@example.com", "richard@example.com"])
        #expect(events.map(\.providerEventKey) == ["\(snsID)#0", "\(snsID)#1", "\(snsID)#2"])
        #expect(Set(events.map(\.eventID)).count == 3)
        for event in events {
            #expect(event.provider == .ses)
            #expect(event.status == .bounced)
            #expect(event.suppresses)
            #expect(event.occurredAtMilliseconds == 1_453_906_778_237)
            #expect(event.providerMessageID == "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000")
            #expect(event.messageIDHeader == "log_8c2e@mail.example.com")
            #expect(event.logID == "log_8c2e")
            #expect(event.details.bounceType == "Permanent")
            #expect(event.details.bounceSubType == "General")
        }
        #expect(events[1].details.bounceDetails == "smtp; 550 5.1.1 <mary@example.com>... User")
        #expect(events[1].message == "SES: Message has bounced: smtp; 550 5.1.1 <mary@example.com>... User")
        // A retry of the same SNS message gives the same ids.
        #expect(try SESNotification.parse(message: sesBounce, snsMessageID: snsID).map(\.eventID) == events.map(\.eventID))
        // Another SNS message gives other ids.
        #expect(try SESNotification.parse(message: sesBounce, snsMessageID: "other")[0].eventID != events[0].eventID)
    }

    @Test func transientBounceDoesNotSuppress() throws {
        let events = try SESNotification.parse(message: sesTransientBounce, snsMessageID: snsID)
        #expect(events.count == 1)
        #expect(events[0].providerEventKey == snsID)
        #expect(events[0].status == .bounced)
        #expect(!events[0].suppresses)
        #expect(events[0].details == DeliveryDetails(bounceType: "Transient", bounceSubType: "MailboxFull", bounceDetails: "smtp; 452 4.2.2 mailbox full"))
        // Message-ID found in mail.headers when commonHeaders is absent.
        #expect(events[0].messageIDHeader == "log_single@mail.example.com")
        #expect(events[0].logID == nil)
    }

    @Test func complaint() throws {
        let events = try SESNotification.parse(message: sesComplaint, snsMessageID: snsID)
        #expect(events.count == 1)
        #expect(events[0].status == .reportedAsSpam)
        #expect(events[0].details.complaintType == "abuse")
        #expect(events[0].recipient == "richard@example.com")
        #expect(events[0].suppresses)
        #expect(events[0].message == "SES: Message has been reported as spam")
    }

    @Test func deliverySendRejectOpenClickDelay() throws {
        let delivery = try SESNotification.parse(message: sesDelivery, snsMessageID: snsID)
        #expect(delivery.map(\.status) == [.delivered])
        #expect(delivery[0].recipient == "jane@example.com")
        #expect(!delivery[0].suppresses)

        let send = try SESNotification.parse(message: sesSend, snsMessageID: snsID)
        #expect(send.map(\.status) == [.processed])
        #expect(send[0].occurredAtMilliseconds == 1_502_315_989_927)
        #expect(send[0].recipient == "recipient@example.com")
        #expect(send[0].providerMessageID == "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000")

        let reject = try SESNotification.parse(message: sesReject, snsMessageID: snsID)
        #expect(reject.map(\.status) == [.dropped])
        #expect(reject[0].details.bounceDetails == "Bad content")

        let open = try SESNotification.parse(message: sesOpen, snsMessageID: snsID)
        #expect(open.map(\.status) == [.opened])
        #expect(open[0].occurredAtMilliseconds == 1_502_316_019_652)
        #expect(open[0].message == "SES: Message has been opened")

        let click = try SESNotification.parse(message: sesClick, snsMessageID: snsID)
        #expect(click.map(\.status) == [.clicked])
        #expect(click[0].details.url == "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html")

        let delay = try SESNotification.parse(message: sesDelay, snsMessageID: snsID)
        #expect(delay.map(\.status) == [.deferred])
        #expect(delay[0].details.bounceSubType == "TransientCommunicationFailure")
        #expect(delay[0].details.bounceDetails == "smtp; 421 4.4.1 Unable to connect to remote host")
        #expect(!delay[0].suppresses)
    }

    @Test func unknownTypesAreSkipped() throws {
        let batch = try SESNotification.parseBatch(
            message: #"{"eventType":"Rendering Failure",\#(sesSingleMail),"failure":{"errorMessage":"x","templateName":"t"}}"#,
            snsMessageID: snsID)
        #expect(batch.events.isEmpty)
        #expect(batch.skipped == [SkippedProviderEvent(index: 0, eventType: "Rendering Failure")])
    }

    @Test func malformedMessagesAreErrors() {
        #expect(throws: WebhookError.self) { try SESNotification.parse(message: String(sesBounce.dropLast(5)), snsMessageID: snsID) }
        #expect(throws: WebhookError.missingField("notificationType", in: "SES message")) {
            try SESNotification.parse(message: #"{\#(sesSingleMail)}"#, snsMessageID: snsID)
        }
        #expect(throws: WebhookError.missingField("mail", in: "SES message")) {
            try SESNotification.parse(message: #"{"notificationType":"Delivery"}"#, snsMessageID: snsID)
        }
        #expect(throws: WebhookError.missingField("bounce", in: "SES message")) {
            try SESNotification.parse(message: #"{"notificationType":"Bounce",\#(sesSingleMail)}"#, snsMessageID: snsID)
        }
        #expect(throws: WebhookError.missingField("bouncedRecipients", in: "SES message bounce")) {
            try SESNotification.parse(
                message: #"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","timestamp":"2016-01-27T14:59:38.237Z"},\#(sesSingleMail)}"#,
                snsMessageID: snsID)
        }
        #expect(throws: WebhookError.self) { try SESNotification.parse(message: "Hello world!", snsMessageID: snsID) }
    }

    @Test func throughASignedSNSNotification() throws {
        let body = signedSNSBody(subject: "Amazon SES Email Event Notification", message: sesBounce, signatureVersion: "2")
        let envelope = try SNSMessage.parse(rawBody: body)
        #expect(envelope.verify(certificate: snsAuthority.certificate))
        let batch = try envelope.sesEvents()
        #expect(batch.events.count == 3)
        #expect(batch.events[0].providerEventKey == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324#0")
    }
}
