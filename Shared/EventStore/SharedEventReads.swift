import Dispatch
import Postgres
import Synchronization

/// One read of events after a checkpoint: in flight until `finish`, then its events or error.
final class EventBatch: @unchecked Sendable {
    // @unchecked Sendable: `result` is written once, before `done` is signalled, and read only
    // after waiting on `done` (which is signalled again for every later waiter).
    let after: Checkpoint
    let limit: Int
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<[RecordedEvent], any Error> = .success([])
    private let finished = Atomic<Bool>(false)

    init(after: Checkpoint, limit: Int) {
        self.after = after
        self.limit = limit
    }

    /// Records the read's outcome and wakes whoever waits for it.
    func finish(_ r: Result<[RecordedEvent], any Error>) {
        result = r
        finished.store(true, ordering: .releasing)
        done.signal()
    }

    /// Whether another runner may take this batch: it is being read, or it was read and has
    /// events. A failed read is read again; so is an empty one, which says only that nothing
    /// was there then (taking it would keep a runner from ever seeing what came since).
    var isShareable: Bool {
        guard finished.load(ordering: .acquiring) else { return true }
        if case .success(let events) = result { return !events.isEmpty }
        return false
    }

    /// Waits for the read and returns its events (or throws its error).
    func events() throws -> [RecordedEvent] {
        done.wait()
        done.signal()  // for the next waiter: every runner that shares the batch waits once
        return try result.get()
    }
}

/// The recent event reads of one process's projection runners, shared.
///
/// Every runner is woken by the same commit and usually stands at the same checkpoint, so
/// without sharing each of them would read (and decode) the same events: seven projections,
/// seven reads of every batch. A runner first asks for the batch after its checkpoint; if
/// another runner has read it or is reading it, it takes that one (waiting for it if needed),
/// otherwise it claims a new batch and reads it itself. A batch read earlier is still a correct
/// answer later: `EventReader` returns only events of finished transactions, so it is a prefix
/// of what a read now would return, and the runner simply reads again after its end.
///
/// Shared reads carry the data of every type any registered projection acts on (see
/// `register(types:)`); each runner still hands its projection only its own types.
final class SharedEventReads: Sendable {
    private struct Key: Hashable {
        var after: Checkpoint
        var limit: Int
    }

    private struct State {
        var batches: [Key: EventBatch] = [:]
        /// Keys in the order they were claimed, to drop the oldest.
        var order: [Key] = []
        /// The union of the registered projections' types; nil once one wants every type.
        var types: Set<String>? = []
        var claimed = 0
        var claimedEmpty = 0
    }

    /// How many recent batches are kept. Runners that fall further behind read on their own.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 16) {
        self.capacity = capacity
    }

    /// Adds a projection's event types (nil: every type) to what shared reads carry data for.
    func register(types: Set<String>?) {
        state.withLock { s in
            if let types, let known = s.types { s.types = known.union(types) } else { s.types = nil }
        }
    }

    /// The types whose data shared reads carry (nil: all).
    var types: Set<String>? { state.withLock { $0.types } }

    /// Batches claimed (and so read) since start: for tests and metrics.
    var readsClaimed: Int { state.withLock { $0.claimed } }

    /// Of those, the runners' own reads that found nothing (a caught-up runner's polls): for tests.
    var emptyReadsClaimed: Int { state.withLock { $0.claimedEmpty } }

    /// Up to `limit` events after `checkpoint`: the batch another runner read, is reading or
    /// prefetched, or else a read of the caller's own on `connection`. Another runner's read that
    /// found nothing may predate the commit that woke the caller, so that one is read again.
    func events(after checkpoint: Checkpoint, limit: Int, on connection: PostgresConnection) throws -> [RecordedEvent] {
        while true {
            let (batch, isNew) = batch(after: checkpoint, limit: limit)
            if isNew {
                let read = Result { try EventReader.read(after: checkpoint, limit: limit, types: types, on: connection) }
                if case .success(let events) = read, events.isEmpty { state.withLock { $0.claimedEmpty += 1 } }
                batch.finish(read)
            }
            let events = try batch.events()
            // An empty batch is never shared again, so the next round reads.
            if isNew || !events.isEmpty { return events }
        }
    }

    /// Starts reading the batch after `checkpoint` on `prefetcher`, unless some runner already
    /// has it (read, being read or prefetched).
    func prefetch(after checkpoint: Checkpoint, limit: Int, on prefetcher: EventPrefetcher) {
        let (batch, isNew) = batch(after: checkpoint, limit: limit)
        if isNew { prefetcher.start(batch, types: types) }
    }

    /// The batch after `checkpoint` of at most `limit` events: one another runner read or is
    /// reading (`isNew` false), or a new one the caller must read and `finish` (`isNew` true).
    func batch(after checkpoint: Checkpoint, limit: Int) -> (batch: EventBatch, isNew: Bool) {
        let key = Key(after: checkpoint, limit: limit)
        return state.withLock { s in
            if let known = s.batches[key], known.isShareable { return (known, false) }
            let batch = EventBatch(after: checkpoint, limit: limit)
            if s.batches.updateValue(batch, forKey: key) == nil { s.order.append(key) }
            while s.order.count > capacity { s.batches[s.order.removeFirst()] = nil }
            s.claimed += 1
            return (batch, true)
        }
    }
}
