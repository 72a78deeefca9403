@testable import DeliveryService
import EventStore
import JSON
import Testing

@Suite struct RecentRequestsTests {
    private func append(_ tenant: String, _ stream: String, _ n: Int) -> StreamAppend {
        StreamAppend(
            tenant: tenant, stream: stream, expected: .noStream,
            events: [NewEvent(type: "message.requested", data: ["n": .int(n)], metadata: ["key_id": "k"])])
    }

    @Test func aRememberedRequestIsTakenOnceByTenantAndMessage() {
        let recent = RecentRequests()
        recent.isCollecting = true
        recent.remember([append("t1", "message-aa", 1), append("t2", "message-aa", 2), append("t1", "customer-x", 3)])
        #expect(recent.count == 2)  // not a message stream: not remembered
        #expect(recent.take(DueMessage.key(tenant: "t2", messageHex: "aa"))?.data["n"]?.intValue == 2)
        #expect(recent.take(DueMessage.key(tenant: "t2", messageHex: "aa")) == nil)
        #expect(recent.take(DueMessage.key(tenant: "t1", messageHex: "bb")) == nil)
        #expect(recent.take(DueMessage.key(tenant: "t1", messageHex: "aa"))?.metadata["key_id"]?.stringValue == "k")
        #expect(recent.count == 0)
    }

    @Test func beyondItsCapacityNothingMoreIsRememberedUntilSomeIsTaken() {
        let recent = RecentRequests(capacity: 2)
        recent.isCollecting = true
        recent.remember([append("t", "message-01", 1), append("t", "message-02", 2), append("t", "message-03", 3)])
        #expect(recent.count == 2)
        #expect(recent.take(DueMessage.key(tenant: "t", messageHex: "03")) == nil)
        _ = recent.take(DueMessage.key(tenant: "t", messageHex: "01"))
        recent.remember([append("t", "message-03", 3)])
        #expect(recent.take(DueMessage.key(tenant: "t", messageHex: "03"))?.data["n"]?.intValue == 3)
    }

    @Test func nothingIsRememberedUnlessTheWorkerLeadsHere() {
        let recent = RecentRequests()
        recent.remember([append("t", "message-01", 1)])
        #expect(recent.count == 0)
        recent.isCollecting = true
        recent.remember([append("t", "message-01", 1)])
        #expect(recent.count == 1)
        recent.isCollecting = false  // the worker lost the lead: what it would have taken goes
        #expect(recent.count == 0)
        recent.remember([append("t", "message-02", 2)])
        #expect(recent.count == 0)
    }
}
