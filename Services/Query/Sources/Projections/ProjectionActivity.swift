import EventStore
import Foundation
import Synchronization

/// What a query projection has done since the process started: how many times it was reset
/// (a rebuild began) and when it last applied a batch. Lets a rebuild's caller tell "done"
/// from "not started yet", and measure its speed.
final class ProjectionActivity: Sendable {
    private struct State {
        var resets = 0
        var appliedSinceReset = 0
        var lastApplied: Date?
    }
    private let state = Mutex(State())

    var resets: Int { state.withLock { $0.resets } }
    /// Events applied since the last reset. The runner publishes its reset progress only after
    /// the reset commits, and applies only after that: a count above 0 proves the runner's
    /// progress already counts from position 0.
    var appliedSinceReset: Int { state.withLock { $0.appliedSinceReset } }
    var lastApplied: Date? { state.withLock { $0.lastApplied } }

    func didReset() {
        state.withLock {
            $0.resets += 1
            $0.appliedSinceReset = 0
        }
    }
    func didApply(_ count: Int) {
        state.withLock {
            $0.lastApplied = Date()
            $0.appliedSinceReset += count
        }
    }
}

/// A projection of this service, with its activity.
protocol QueryProjection: Projection {
    var activity: ProjectionActivity { get }
}

/// A rebuild in progress: the projections' reset counts when it was requested and the newest
/// event then. It is done when every projection was reset since and has applied `head`.
struct RebuildTarget: Sendable {
    let head: Checkpoint
    let resetsBefore: [Int]
    let requestedAt: Date

    init(head: Checkpoint, runners: [ProjectionRunner]) {
        self.head = head
        self.resetsBefore = runners.map { ($0.projection as? any QueryProjection)?.activity.resets ?? 0 }
        self.requestedAt = Date()
    }

    func isDone(_ runners: [ProjectionRunner]) -> Bool {
        zip(runners, resetsBefore).allSatisfy { runner, before in
            guard let activity = (runner.projection as? any QueryProjection)?.activity else { return false }
            return runner.progress.isLeader && activity.resets > before
                && (head == .start || (activity.appliedSinceReset > 0 && runner.progress.checkpoint >= head))
        }
    }

    /// Seconds from the request to the last batch applied (meaningful once done).
    func seconds(_ runners: [ProjectionRunner]) -> Double {
        let last = runners.compactMap { ($0.projection as? any QueryProjection)?.activity.lastApplied }.max() ?? requestedAt
        return max(last.timeIntervalSince(requestedAt), 0.000_001)
    }
}
