import Synchronization

/// Results of many operations that complete on other threads, gathered by index and handed
/// over in index order once every one is in: one wait for all of them, instead of a task and a
/// continuation each (the outbox worker's `queued` appends and its sends, 100 a batch).
public final class IndexedResults<Value: Sendable>: Sendable {
    private struct State {
        var values: [Value?]
        var remaining: Int
        var waiter: CheckedContinuation<[Value], Never>?
    }

    private let state: Mutex<State>

    /// `known`: the values there already; nil where one is to come through `set`.
    public init(known: [Value?]) {
        state = Mutex(State(values: known, remaining: known.count { $0 == nil }))
    }

    /// `count` values, all to come through `set`.
    public convenience init(count: Int) { self.init(known: Array(repeating: nil, count: count)) }

    /// Records value `index` (once for each awaited index; from any thread).
    public func set(_ index: Int, _ value: Value) {
        let finished = state.withLock { s -> (CheckedContinuation<[Value], Never>, [Value])? in
            s.values[index] = value
            s.remaining -= 1
            guard s.remaining == 0, let waiter = s.waiter else { return nil }
            s.waiter = nil
            return (waiter, s.values.map { $0! })
        }
        if let (waiter, all) = finished { waiter.resume(returning: all) }
    }

    /// Every value, in index order, once all are in.
    public func all() async -> [Value] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> [Value]? in
                if s.remaining == 0 { return s.values.map { $0! } }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
