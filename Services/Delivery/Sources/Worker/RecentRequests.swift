import Domain
import EventStore
import Synchronization

/// The request events (`message.requested`) this process appended lately, by message, so the
/// outbox worker composes those messages without reading their request back from the event
/// table and parsing its JSON again (one SELECT a batch and two parses a message).
///
/// Only a committed append is remembered. A message's stream has one request event (a new
/// stream with its own id; a resend appends `message.resend_requested`), so the remembered one
/// is the one the table holds. Each entry is taken once: a retry or a resend reads the table,
/// as does every message accepted by another process or before a restart. Only while this
/// process's worker leads (`isCollecting`): a standby's would never be taken. Bounded: beyond
/// `capacity` messages nothing more is remembered until the worker has taken some.
final class RecentRequests: Sendable {
    /// Most messages remembered. Default 20,000 (about 20 MB of small requests).
    let capacity: Int
    private let events = Mutex<[String: NewEvent]>([:])
    private let collecting = Atomic<Bool>(false)

    init(capacity: Int = 20_000) { self.capacity = capacity }

    /// Whether requests are remembered: set while this process's outbox worker leads. Turning
    /// it off forgets everything.
    var isCollecting: Bool {
        get { collecting.load(ordering: .relaxed) }
        set {
            collecting.store(newValue, ordering: .relaxed)
            if !newValue { events.withLock { $0.removeAll() } }
        }
    }

    /// Remembers the request events of committed appends, one message stream each.
    func remember(_ appends: [StreamAppend]) {
        guard isCollecting else { return }
        events.withLock { events in
            for a in appends where events.count < capacity {
                guard let event = a.events.first, let hex = EventCatalog.messageHex(ofStream: a.stream) else { continue }
                events[DueMessage.key(tenant: a.tenant, messageHex: String(hex))] = event
            }
        }
    }

    /// The request event of the message with `key` (`DueMessage.key`), forgotten as it is taken.
    func take(_ key: String) -> NewEvent? { events.withLock { $0.removeValue(forKey: key) } }

    /// Messages remembered.
    var count: Int { events.withLock { $0.count } }
}
