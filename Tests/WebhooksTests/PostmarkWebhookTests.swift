import Crypto
import Domain
import Foundation
import Testing

@testable import Webhooks

// Records shaped like Postmark's webhook documentation, with our log id in Metadata.
let postmarkDelivery = #"""
    {"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Recipient":"john@example.com","Tag":"welcome-email","DeliveredAt":"2019-11-05T16:33:54.9070259Z","Details":"Test delivery webhook details","Metadata":{"a_key":"a_value","log_id":"log_5e1d"}}
    """#
let postmarkHardBounce = #"""
    {"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,"Name":"Hard bounce","Tag":"Test","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"log_id":"log_5e1d"},"ServerID":23,"Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).","Details":"Test bounce details","Email":"john@example.com","From":"sender@example.com","BouncedAt":"2019-11-05T16:33:54.9070259Z","DumpAvailable":true,"Inactive":true,"CanActivate":true,"Subject":"Test subject","Content":"Return-Path:....."}
    """#
let postmarkSoftBounce = #"""
    {"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775808,"Type":"SoftBounce","TypeCode":4096,"Name":"Soft bounce","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"log_id":"log_5e1d"},"ServerID":23,"Description":"The server could not temporarily deliver your message (ex: Message is delayed due to network troubles).","Details":"Mailbox full","Email":"john@example.com","From":"sender@example.com","BouncedAt":"2014-08-01T13:28:10.2735393-04:00","DumpAvailable":false,"Inactive":false,"CanActivate":true,"Subject":"Test subject"}
    """#
let postmarkSpamComplaint = #"""
    {"RecordType":"SpamComplaint","MessageStream":"outbound","ID":42,"Type":"SpamComplaint","TypeCode":512,"Name":"Spam complaint","Tag":"Test","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"log_id":"log_5e1d"},"ServerID":1234,"Description":"","Details":"Test spam complaint details","Email":"john@example.com","From":"sender@example.com","BouncedAt":"2019-11-05T16:33:54.9070259Z","DumpAvailable":true,"Inactive":true,"CanActivate":false,"Subject":"Test subject","Content":"<Abuse report dump>"}
    """#
let postmarkOpen = #"""
    {"RecordType":"Open","MessageStream":"outbound","FirstOpen":true,"Client":{"Name":"Chrome 35.0.1916.153","Company":"Google","Family":"Chrome"},"OS":{"Name":"OS X 10.7 Lion","Company":"Apple Computer, Inc.","Family":"OS X 10"},"Platform":"WebMail","UserAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36","ReadSeconds":5,"Geo":{"CountryISOCode":"RS","Country":"Serbia","RegionISOCode":"VO","Region":"Autonomna Pokrajina Vojvodina","City":"Novi Sad","Zip":"21000","Coords":"45.2517,19.8369","IP":"188.2.95.4"},"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"log_id":"log_5e1d"},"ReceivedAt":"2019-11-05T16:33:54.9070259Z","Tag":"welcome-email","Recipient":"john@example.com"}
    """#
let postmarkClick = #"""
    {"RecordType":"Click","MessageStream":"outbound","ClickLocation":"HTML","Client":{"Name":"Chrome 35.0.1916.153","Company":"Google","Family":"Chrome"},"OS":{"Name":"OS X 10.7 Lion","Company":"Apple Computer, Inc.","Family":"OS X 10"},"Platform":"Desktop","UserAgent":"Mozilla/5.0","OriginalLink":"https://example.com","Geo":{"Country":"Serbia","IP":"188.2.95.4"},"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"log_id":"log_5e1d"},"ReceivedAt":"2019-11-05T16:33:54.9070259Z","Tag":"welcome-email","Recipient":"john@example.com"}
    """#
let postmarkUnsubscribe = #"""
    {"RecordType":"SubscriptionChange","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","ServerID":123456,"MessageStream":"outbound","ChangedAt":"2020-02-01T10:53:34.416071Z","Recipient":"bounced-address@wildbit.com","Origin":"Recipient","SuppressSending":true,"SuppressionReason":"ManualSuppression","Tag":"my-tag","Metadata":{"log_id":"log_5e1d"}}
    """#
let postmarkResubscribe = #"""
    {"RecordType":"SubscriptionChange","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","ServerID":123456,"MessageStream":"outbound","ChangedAt":"2020-02-01T10:53:34.416071Z","Recipient":"bounced-address@wildbit.com","Origin":"Customer","SuppressSending":false,"SuppressionReason":null,"Tag":"my-tag","Metadata":{}}
    """#

@Suite struct PostmarkWebhookTests {
    func basic(_ user: String, _ password: String) -> String {
        "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
    }

    @Test func basicCredentials() {
        #expect(PostmarkWebhook.verify(authorizationHeader: basic("hook", "s3cr:et"), username: "hook", password: "s3cr:et"))
        #expect(PostmarkWebhook.verify(authorizationHeader: "basic " + Base64.encode(Array("hook:pw".utf8)), username: "hook", password: "pw"))
        #expect(!PostmarkWebhook.verify(authorizationHeader: basic("hook", "wrong"), username: "hook", password: "s3cr:et"))
        #expect(!PostmarkWebhook.verify(authorizationHeader: basic("other", "s3cr:et"), username: "hook", password: "s3cr:et"))
        #expect(!PostmarkWebhook.verify(authorizationHeader: basic("hook", "s3cr:e"), username: "hook", password: "s3cr:et"))
        #expect(!PostmarkWebhook.verify(authorizationHeader: nil, username: "hook", password: "pw"))
        #expect(!PostmarkWebhook.verify(authorizationHeader: "Bearer " + Base64.encode(Array("hook:pw".utf8)), username: "hook", password: "pw"))
        #expect(!PostmarkWebhook.verify(authorizationHeader: "Basic %%%", username: "hook", password: "pw"))
        #expect(!PostmarkWebhook.verify(authorizationHeader: "Basic " + Base64.encode(Array("hookpw".utf8)), username: "hook", password: "pw"))
        // An unconfigured (empty) credential never matches, not even an empty one.
        #expect(!PostmarkWebhook.verify(authorizationHeader: basic("", ""), username: "", password: ""))
    }

    @Test func delivery() throws {
        let events = try PostmarkWebhook.parse(rawBody: Array(postmarkDelivery.utf8))
        #expect(events.count == 1)
        let e = events[0]
        #expect(e.provider == .postmark)
        #expect(e.status == .delivered)
        #expect(e.occurredAtMilliseconds == 1_572_971_634_907)
        #expect(e.providerMessageID == "883953f4-6105-42a2-a16a-77a8eac79483")
        #expect(e.messageIDHeader == nil)
        #expect(e.logID == "log_5e1d")
        #expect(e.recipient == "john@example.com")
        #expect(e.message == "Postmark: Message has been delivered")
        #expect(e.providerEventKey == SHA256.hash(Array(postmarkDelivery.utf8)).hexString)
    }

    @Test func bounces() throws {
        let hard = try PostmarkWebhook.parse(rawBody: Array(postmarkHardBounce.utf8))[0]
        #expect(hard.status == .bounced)
        #expect(hard.suppresses)
        #expect(hard.details == DeliveryDetails(bounceType: "Permanent", bounceSubType: "HardBounce", bounceDetails: "Test bounce details"))
        #expect(hard.recipient == "john@example.com")
        #expect(hard.message.hasPrefix("Postmark: Message has bounced: The server was unable"))
        let soft = try PostmarkWebhook.parse(rawBody: Array(postmarkSoftBounce.utf8))[0]
        #expect(soft.status == .bounced)
        #expect(!soft.suppresses)
        #expect(soft.details.bounceType == "Transient")
        #expect(soft.details.bounceSubType == "SoftBounce")
        // 13:28:10.273 at -04:00 is 17:28:10.273 UTC.
        #expect(soft.occurredAtMilliseconds == 1_406_914_090_273)
    }

    @Test func complaintOpenClickUnsubscribe() throws {
        let spam = try PostmarkWebhook.parse(rawBody: Array(postmarkSpamComplaint.utf8))[0]
        #expect(spam.status == .reportedAsSpam)
        #expect(spam.suppresses)
        #expect(spam.details.complaintType == "SpamComplaint")
        let open = try PostmarkWebhook.parse(rawBody: Array(postmarkOpen.utf8))[0]
        #expect(open.status == .opened)
        #expect(!open.suppresses)
        let click = try PostmarkWebhook.parse(rawBody: Array(postmarkClick.utf8))[0]
        #expect(click.status == .clicked)
        #expect(click.details.url == "https://example.com")
        let unsubscribe = try PostmarkWebhook.parse(rawBody: Array(postmarkUnsubscribe.utf8))[0]
        #expect(unsubscribe.status == .unsubscribed)
        #expect(unsubscribe.suppresses)
        #expect(unsubscribe.recipient == "bounced-address@wildbit.com")
        #expect(unsubscribe.occurredAtMilliseconds == 1_580_554_414_416)
        let resubscribe = try PostmarkWebhook.parseBatch(rawBody: Array(postmarkResubscribe.utf8))
        #expect(resubscribe.events.isEmpty)
        #expect(resubscribe.skipped == [SkippedProviderEvent(index: 0, eventType: "SubscriptionChange")])
        let inbound = try PostmarkWebhook.parseBatch(rawBody: Array(#"{"RecordType":"Inbound"}"#.utf8))
        #expect(inbound.events.isEmpty && inbound.skipped.count == 1)
    }

    @Test func idsAreStableAndDistinct() throws {
        let bodies = [postmarkDelivery, postmarkHardBounce, postmarkSoftBounce, postmarkSpamComplaint, postmarkOpen, postmarkClick, postmarkUnsubscribe]
        let ids = try bodies.map { try PostmarkWebhook.parse(rawBody: Array($0.utf8))[0].eventID }
        let again = try bodies.map { try PostmarkWebhook.parse(rawBody: Array($0.utf8))[0].eventID }
        #expect(ids == again)
        #expect(Set(ids).count == bodies.count)
    }

    @Test func malformedRecordsAreErrors() {
        #expect(throws: WebhookError.self) { try PostmarkWebhook.parse(rawBody: Array(postmarkDelivery.utf8.dropLast(3))) }
        #expect(throws: WebhookError.missingField("RecordType", in: "Postmark record")) {
            try PostmarkWebhook.parse(rawBody: Array(#"{"MessageID":"x"}"#.utf8))
        }
        #expect(throws: WebhookError.missingField("DeliveredAt", in: "Postmark record")) {
            try PostmarkWebhook.parse(rawBody: Array(#"{"RecordType":"Delivery","MessageID":"x"}"#.utf8))
        }
        #expect(throws: WebhookError.invalidField("BouncedAt", in: "Postmark record")) {
            try PostmarkWebhook.parse(rawBody: Array(#"{"RecordType":"Bounce","Type":"HardBounce","BouncedAt":"2019-11-05 16:33"}"#.utf8))
        }
        #expect(throws: WebhookError.unexpectedShape("body is not a JSON object")) {
            try PostmarkWebhook.parse(rawBody: Array("[]".utf8))
        }
    }
}
