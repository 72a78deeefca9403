import Domain
@testable import EventStore
import Foundation
import JSON
@testable import QueryService
import Testing

@Suite struct LogEventRowTests {
    /// Events recorded before delivery took addresses out of providers' text still had them;
    /// the projection's rows never do, so a rebuild cleans the read tables.
    @Test func providersTextIsProjectedWithoutAddresses() throws {
        let data: JSON = [
            "message_id": .string(UUID().uuidString.lowercased()), "status": "bounced", "occurred_at": 1,
            "provider": "sendgrid", "message": "Bounced: 550 5.1.1 <jane@example.com>: user unknown",
            "details": [
                "bounce_type": "bounce", "bounce_details": "550 5.1.1 <jane@example.com>: user unknown",
                "url": "https://example.com/p?e=jane%40example.com",
            ],
        ]
        let recorded = RecordedEvent(
            position: 1, id: UUID(), tenant: "site1", stream: "message-x", version: 3, type: "message.provider_event",
            data: data, metadata: .null, transactionID: 1, recordedAt: 0)
        let row = try #require(LogEventRow(recorded))
        #expect(row.event.message == "Bounced: 550 5.1.1 <[address]>: user unknown")
        #expect(row.event.details.bounceDetails == "550 5.1.1 <[address]>: user unknown")
        #expect(row.event.details.url == "https://example.com/p?e=[address]")
        #expect(row.event.details.bounceType == "bounce")
    }
}
