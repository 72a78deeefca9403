import Synchronization

/// The sends the worker may have on the wire at once (`MAIL_CONCURRENCY`), shared by every batch
/// in flight: while some batches are in their database steps (queueing, loading, recording),
/// the one that is sending may use every slot, so the SMTP sessions stay fed. Waiters are served
/// in arrival order.
final class SendSlots: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(_ count: Int) {
        state = Mutex(State(available: max(1, count)))
    }

    /// Waits for a free slot and takes it.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { s -> Bool in
                if s.available > 0 && s.waiters.isEmpty {
                    s.available -= 1
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    /// Takes a slot if one is free and nobody waits, without suspending.
    func tryAcquire() -> Bool {
        state.withLock { s in
            guard s.available > 0 && s.waiters.isEmpty else { return false }
            s.available -= 1
            return true
        }
    }

    /// Gives a slot back (to the longest waiter, if any).
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }

    /// Slots free now (for tests).
    var available: Int { state.withLock { $0.available } }

    /// Sends waiting for a slot now (for tests).
    var waiting: Int { state.withLock { $0.waiters.count } }
}
