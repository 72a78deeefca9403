import Synchronization

/// One stretch of this process leading the outbox: from taking the worker's advisory lock until
/// losing its session (or stopping).
///
/// Two rules keep a change of leader from sending a message twice while the old leader is still
/// alive (its lock session ended, by a database restart or a dropped connection, but its SMTP
/// sessions did not):
/// - a batch claimed in a term hands emails to the transport only while the term lasts; the
///   rest stay claimed and due, for whichever worker leads next (`isCurrent`);
/// - a term takes over claims an earlier leader left (a stream ending in `queued`) only once
///   `takeoverGrace` has passed since it began: the earlier leader may still be finishing the
///   sends it had started and recording their outcomes, which it retries until the database takes
///   them (`takesOverClaims`). A claim whose outcome lands meanwhile is no longer due.
final class LeadershipTerm: Sendable {
    /// When the lock was taken.
    let began: ContinuousClock.Instant
    /// How long after `began` claims left by an earlier leader are taken over.
    let takeoverGrace: Duration
    private let ended = Atomic<Bool>(false)

    init(began: ContinuousClock.Instant = .now, takeoverGrace: Duration) {
        self.began = began
        self.takeoverGrace = takeoverGrace
    }

    /// Whether this process still leads in this term.
    var isCurrent: Bool { !ended.load(ordering: .acquiring) }

    /// The lock's session is gone (or the worker stops): no more emails go to the transport in
    /// this term.
    func end() { ended.store(true, ordering: .releasing) }

    /// When claims left by an earlier leader may be taken over.
    var takesOverClaimsFrom: ContinuousClock.Instant { began + takeoverGrace }

    /// Whether claims left by an earlier leader may be taken over at `now`.
    func takesOverClaims(at now: ContinuousClock.Instant = .now) -> Bool { now >= takesOverClaimsFrom }
}
