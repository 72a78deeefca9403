import EventStore
import Foundation
import Testing

@Suite struct EventNotifierTests {
    @Test func payloadsCarryTheOriginAndTheTypes() {
        #expect(EventNotification.payload(origin: "o1", types: ["b.x", "a.y"]) == "o1|a.y,b.x")
        let parsed = EventNotification.parse("o1|a.y,b.x")
        #expect(parsed.origin == "o1" && parsed.types == ["a.y", "b.x"])
        // Unknown types: an empty payload (a reconnect, an older writer) or the origin alone.
        #expect(EventNotification.parse("").types == nil)
        #expect(EventNotification.parse("o1").origin == "o1" && EventNotification.parse("o1").types == nil)
        #expect(EventNotification.parse("o1|").types == nil)
        // Too many types for one NOTIFY: the origin alone (every reader wakes).
        let many = Set((0..<2_000).map { "type.\($0)" })
        #expect(EventNotification.payload(origin: "o1", types: many) == "o1")
        #expect(EventNotification.payload(origin: "o1", types: []) == "o1")
    }

    @Test func aSignalOfItsTypesWakesASubscriberAtOnce() {
        let notifier = EventNotifier()
        let id = notifier.subscribe(types: ["a"])
        let seen = notifier.position(of: id)
        notifier.signal(types: ["a", "b"])
        let started = Date()
        notifier.wait(subscriber: id, after: seen, readAt: Date(), unrelatedDelay: 30, timeout: 30)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func otherTypesWaitForTheDelayUnlessSomeoneNudges() {
        let notifier = EventNotifier()
        let id = notifier.subscribe(types: ["a"])
        var seen = notifier.position(of: id)
        notifier.signal(types: ["b"])
        var started = Date()
        notifier.wait(subscriber: id, after: seen, readAt: started, unrelatedDelay: 0.3, timeout: 30)
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.3 && waited < 10)

        seen = notifier.position(of: id)
        notifier.signal(types: ["b"])
        notifier.nudge(id)
        started = Date()
        notifier.wait(subscriber: id, after: seen, readAt: started, unrelatedDelay: 30, timeout: 30)
        #expect(Date().timeIntervalSince(started) < 10)

        // A signal without types concerns everyone.
        seen = notifier.position(of: id)
        notifier.signal()
        started = Date()
        notifier.wait(subscriber: id, after: seen, readAt: started, unrelatedDelay: 30, timeout: 30)
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
