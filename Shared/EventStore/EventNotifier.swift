import Foundation

/// Wakes readers when new events may be there: on a PostgreSQL NOTIFY, after a local commit, or
/// when a poll interval passes (so a lost notification only delays, never loses, an event).
///
/// A signal may say which event types were committed. A reader that subscribed with its types
/// is woken at once only by signals that concern them (or say nothing about types); commits of
/// other types wake it at most once per `unrelatedDelay` it passes to `wait`, enough to move its
/// checkpoint past them without a wake-up (and two reads) per commit.
public final class EventNotifier: @unchecked Sendable {
    // @unchecked Sendable: `generation` and `subscribers` are only read and written under
    // `condition`.
    private let condition = NSCondition()
    private var generation: UInt64 = 0
    private var subscribers: [Subscriber] = []

    private struct Subscriber {
        /// The types it reads (nil: every type).
        var types: Set<String>?
        /// The generation of the last signal that concerns it.
        var relevant: UInt64 = 0
    }

    /// Where a subscriber stands: pass it back to `wait(subscriber:after:...)`.
    public struct Position: Sendable, Equatable {
        var relevant: UInt64
        var any: UInt64
    }

    public init() {}

    /// Wakes every waiter; subscribers only if `types` (nil: unknown) concerns them.
    public func signal(types: Set<String>? = nil) {
        condition.lock()
        generation &+= 1
        for i in subscribers.indices where Self.concerns(types, subscribers[i].types) {
            subscribers[i].relevant = generation
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Whether a signal of `signalled` types concerns a reader of `read` types (nil: all).
    static func concerns(_ signalled: Set<String>?, _ read: Set<String>?) -> Bool {
        guard let signalled, let read else { return true }
        return !signalled.isDisjoint(with: read)
    }

    /// Registers a reader of `types` (nil: every type); returns its id.
    public func subscribe(types: Set<String>?) -> Int {
        condition.lock()
        defer { condition.unlock() }
        subscribers.append(Subscriber(types: types, relevant: generation))
        return subscribers.count - 1
    }

    /// Wakes the subscriber as if a signal concerned it (someone waits for it to catch up).
    public func nudge(_ subscriber: Int) {
        condition.lock()
        generation &+= 1
        subscribers[subscriber].relevant = generation
        condition.broadcast()
        condition.unlock()
    }

    /// The subscriber's current position.
    public func position(of subscriber: Int) -> Position {
        condition.lock()
        defer { condition.unlock() }
        return Position(relevant: subscribers[subscriber].relevant, any: generation)
    }

    /// Blocks the calling (dedicated) thread until a signal after `seen` concerns the
    /// subscriber, or a signal that does not has waited until `readAt + unrelatedDelay`, or the
    /// timeout passes.
    public func wait(
        subscriber: Int, after seen: Position, readAt: Date, unrelatedDelay: TimeInterval, timeout: TimeInterval
    ) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        let unrelatedDue = readAt.addingTimeInterval(unrelatedDelay)
        condition.lock()
        defer { condition.unlock() }
        while subscribers[subscriber].relevant == seen.relevant {
            let now = Date()
            if now >= deadline { return }
            if generation != seen.any {
                if now >= unrelatedDue { return }
                _ = condition.wait(until: min(deadline, unrelatedDue))
            } else {
                _ = condition.wait(until: deadline)
            }
        }
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

/// The payload of an event-table NOTIFY: the writing appender's origin, then the types the
/// commit holds (`origin|type,type`). An empty payload (a reconnect, an older writer) or one
/// without types says only "something was committed".
public enum EventNotification {
    /// Longest payload sent with types; a longer list is left out (PostgreSQL's limit is 8,000
    /// bytes), which wakes every reader.
    static let maximumBytes = 7_000

    /// The payload for a commit of `types` by `origin`.
    public static func payload(origin: String, types: Set<String>) -> String {
        let list = types.sorted().joined(separator: ",")
        let payload = origin + "|" + list
        return payload.utf8.count <= maximumBytes && !types.isEmpty ? payload : origin
    }

    /// The origin and the types (nil: not said) of a payload.
    public static func parse(_ payload: String) -> (origin: String, types: Set<String>?) {
        guard let bar = payload.firstIndex(of: "|") else { return (payload, nil) }
        let list = payload[payload.index(after: bar)...]
        guard !list.isEmpty else { return (String(payload[..<bar]), nil) }
        return (String(payload[..<bar]), Set(list.split(separator: ",").map(String.init)))
    }
}
