import Mail
import Synchronization

/// The outcomes of a batch's sends, gathered as the transport reports them (on its own
/// threads) and handed over in batch order once all are in: one wait for the whole batch.
final class BatchOutcomes: Sendable {
    private struct State {
        var outcomes: [SendOutcome?]
        var remaining: Int
        var waiter: CheckedContinuation<[SendOutcome], Never>?
    }

    private let state: Mutex<State>

    /// `known`: the outcomes decided without the transport, nil for each send to wait for.
    init(_ known: [SendOutcome?]) {
        state = Mutex(State(outcomes: known, remaining: known.count { $0 == nil }))
    }

    /// Records the outcome of send `index` (once per send).
    func set(_ index: Int, _ outcome: SendOutcome) {
        let finished = state.withLock { s -> (CheckedContinuation<[SendOutcome], Never>, [SendOutcome])? in
            s.outcomes[index] = outcome
            s.remaining -= 1
            guard s.remaining == 0, let waiter = s.waiter else { return nil }
            s.waiter = nil
            return (waiter, s.outcomes.map { $0! })
        }
        if let (waiter, all) = finished { waiter.resume(returning: all) }
    }

    /// Every outcome, in batch order, once all are in.
    func all() async -> [SendOutcome] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> [SendOutcome]? in
                if s.remaining == 0 { return s.outcomes.map { $0! } }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
