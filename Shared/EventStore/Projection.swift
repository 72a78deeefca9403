import Postgres

/// A read model built from the event table. `apply` runs inside the runner's transaction
/// together with the checkpoint update, so each event takes effect exactly once.
public protocol Projection: Sendable {
    /// Unique name; the checkpoint and the leader lock are keyed by it.
    var name: String { get }
    /// Applies events (in commit order) to the read tables.
    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws
    /// Empties the read tables for a rebuild from position 0.
    func reset(on connection: PostgresConnection) throws
    /// The event types `apply` acts on, or nil for any. When set, the runner hands `apply` only
    /// events of these types (the JSON of the others is neither read nor parsed) and, for a
    /// batch with none of them, only moves the checkpoint.
    var eventTypes: Set<String>? { get }
}

extension Projection {
    public var eventTypes: Set<String>? { nil }
}
