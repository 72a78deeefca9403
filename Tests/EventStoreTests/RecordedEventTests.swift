@testable import EventStore
import Foundation
import JSON
import Testing

@Suite struct RecordedEventTests {
    func recorded(_ data: JSON) -> RecordedEvent {
        RecordedEvent(
            position: 1, id: UUID(), tenant: "t", stream: "s", version: 1, type: "x", data: data, metadata: .null,
            transactionID: 1, recordedAt: 1_700_000_000.25)
    }

    /// `occurred_at` when the event names it (a number or a numeric string), else the commit time.
    @Test func occurredAtIsTheEventsOwnTimeElseItsCommitTime() throws {
        #expect(recorded(["occurred_at": .int64(1_600_000_000_123)]).occurredAtMilliseconds == 1_600_000_000_123)
        #expect(recorded(["occurred_at": .number("1.6e12")]).occurredAtMilliseconds == 1_600_000_000_000)
        #expect(recorded(["occurred_at": "1600000000123"]).occurredAtMilliseconds == 1_600_000_000_123)
        #expect(recorded(["occurred_at": "soon"]).occurredAtMilliseconds == 1_700_000_000_250)
        #expect(recorded(["other": 1]).occurredAtMilliseconds == 1_700_000_000_250)
        #expect(recorded(.null).recordedAtMilliseconds == 1_700_000_000_250)
    }
}
