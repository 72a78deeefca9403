import Foundation

/// Wakes readers when new events may be there: on a PostgreSQL NOTIFY, after a local commit, or
/// when a poll interval passes (so a lost notification only delays, never loses, an event).
public final class EventNotifier: @unchecked Sendable {
    // @unchecked Sendable: `generation` is only read and written under `condition`.
    private let condition = NSCondition()
    private var generation: UInt64 = 0

    public init() {}

    /// Wakes every waiter.
    public func signal() {
        condition.lock()
        generation &+= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The current generation; pass it to `wait(after:timeout:)`.
    public var current: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return generation
    }

    /// Blocks the calling (dedicated) thread until a signal newer than `seen` or the timeout.
    public func wait(after seen: UInt64, timeout: TimeInterval) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        while generation == seen {
            if !condition.wait(until: deadline) { break }
        }
        condition.unlock()
    }
}
