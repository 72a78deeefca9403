import Domain
import Foundation
import Testing

@testable import Webhooks

@Suite struct ProviderEventTests {
    @Test func deterministicIDsAreVersion5StyleAndStable() {
        let a = ProviderEvent.deterministicID(provider: .sendGrid, providerEventKey: "abc")
        #expect(a == ProviderEvent.deterministicID(provider: .sendGrid, providerEventKey: "abc"))
        #expect(a != ProviderEvent.deterministicID(provider: .mailgun, providerEventKey: "abc"))
        #expect(a != ProviderEvent.deterministicID(provider: .sendGrid, providerEventKey: "abd"))
        let text = a.uuidString
        #expect(Array(text)[14] == "5")
        #expect("89AB".contains(Array(text)[19]))
        // Pinned (computed independently: SHA-256("sendgrid:abc"), first 16 bytes, version and
        // variant bits) so that a change of derivation, which would break deduplication of
        // retries across releases, fails here.
        #expect(text == "018D440F-27E1-5A21-B996-0FFF77A58F40")
    }

    @Test(arguments: [
        ("<a@b>", "a@b"), (" <a@b> ", "a@b"), ("a@b", "a@b"), ("<>", nil), ("", nil), ("  ", nil),
        ("\r\n<a@b>\t", "a@b"), ("< a@b >", "a@b"), ("<<a@b>>", "<a@b>"), ("\n", nil), ("< \n a@b>", "\n a@b"),
        ("\u{2003}<a@b>\u{2003}", "a@b"), ("<\u{E9}@b>", "\u{E9}@b"),
    ] as [(String, String?)])
    func normalizesMessageIDs(raw: String, expected: String?) {
        #expect(ProviderEvent.normalizedMessageID(raw) == expected)
    }

    @Test func logEventKeepsSpecificMessagesOnly() {
        let open = ProviderEvent(provider: .ses, providerEventKey: "k", status: .opened, occurredAtMilliseconds: 5)
        #expect(open.message == "SES: Message has been opened")
        #expect(open.logEvent == MessageLogEvent(status: .opened, occurredAtMilliseconds: 5, provider: .ses))
        let bounce = ProviderEvent(
            provider: .ses, providerEventKey: "k", status: .bounced, occurredAtMilliseconds: 5, message: "SES: Message has bounced: x",
            details: DeliveryDetails(bounceType: "Permanent"))
        #expect(bounce.logEvent.message == "SES: Message has bounced: x")
        #expect(bounce.logEvent.details.bounceType == "Permanent")
    }

    @Test(arguments: [
        "2016-01-27T14:59:38.237Z", "2019-11-05T16:33:54.9070259Z", "2014-08-01T13:28:10.2735393-04:00",
        "2020-02-01T10:53:34.416071Z", "2000-02-29T23:59:59Z", "1969-12-31T23:59:59.5Z", "2024-06-30T12:00:00+05:30",
        "2024-06-30T12:00:00+0530",
    ])
    func isoTimesMatchFoundation(text: String) throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        // Foundation only takes up to 3 fraction digits reliably: compare on a trimmed copy.
        let trimmed = text.replacingOccurrences(of: #"(\.\d{3})\d+"#, with: "$1", options: .regularExpression)
        let date = try #require(formatter.date(from: trimmed) ?? plain.date(from: trimmed))
        let expected = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        #expect(ProviderTimestamp.milliseconds(iso8601: text) == expected)
    }

    @Test(arguments: [
        "", "2016-01-27", "2016-01-27T14:59:38", "2016-13-01T00:00:00Z", "2015-02-29T00:00:00Z", "2016-01-27T24:00:00Z",
        "2016-01-27T14:59:38.Z", "2016-01-27T14:59:38.237Zjunk", "2016-01-27T14:59:38+25:00", "yesterday",
    ])
    func invalidISOTimes(text: String) {
        #expect(ProviderTimestamp.milliseconds(iso8601: text) == nil)
    }

    @Test func unixSeconds() {
        // Whole seconds: the last millisecond of that second (see the doc comment).
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "1513299569") == 1_513_299_569_999)
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "1513299569.000") == 1_513_299_569_000)
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "1521472262.908181") == 1_521_472_262_908)
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "1521472262.9") == 1_521_472_262_900)
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "1.5e9") == 1_500_000_000_000)
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "soon") == nil)
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "") == nil)
        #expect(ProviderTimestamp.milliseconds(unixSeconds: "1.") == nil)
    }
}
