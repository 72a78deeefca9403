import Postgres

/// Events restored from a logical dump (`pg_dump` of `events`, `subject_keys` and `tenant_keys`)
/// into a database of another PostgreSQL cluster.
///
/// Readers take events in (transaction id, position) order and only below the oldest running
/// transaction (`EventReader`). Transaction ids are the source cluster's: where it had run more
/// transactions than the new one, restored events would sit in the new cluster's future, unseen
/// by every projection until its own counter passed them, and new events would sort before
/// them. Such a database is refused at start (`isFromAnotherCluster`) until `adopt` has moved
/// every event into this cluster's past, in position order.
///
/// Position order is a faithful order to replay: an event that depends on another was appended
/// after that one committed, so it took a higher position. (Commit order can differ from it only
/// between transactions that ran at the same time, which could not see each other.)
public enum RestoredEvents {
    /// The transaction id adopted events take: the first normal one, below every transaction of
    /// any cluster, so they come before everything appended later and every reader sees them.
    static let adoptedTransactionID = "3"

    /// Whether some event's transaction id is one this cluster has not assigned yet.
    public static func isFromAnotherCluster(on connection: PostgresConnection) throws -> Bool {
        let rows = try connection.execute(
            "SELECT coalesce(max(tx_id) >= pg_snapshot_xmax(pg_current_snapshot()), false) FROM events")
        return rows[0].bool(0) == true
    }

    /// Why `adopt` will not run.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Gives every event the transaction id `adoptedTransactionID` (keeping positions, so the
    /// order becomes position order) and moves the position sequence past the highest restored
    /// position; returns how many events were renumbered (0 when none came from another cluster).
    /// Refused once a projection has run on this database: its checkpoint would no longer
    /// describe what it has applied. One transaction; the append-only trigger is disabled only
    /// inside it, with the table locked against every other session.
    public static func adopt(on connection: PostgresConnection) throws -> Int {
        try connection.transaction {
            try connection.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            guard try isFromAnotherCluster(on: connection) else { return 0 }
            let started = try connection.execute("SELECT count(*) FROM projection_checkpoints WHERE position > 0")
            guard started[0].int(0) == 0 else {
                throw Refusal(
                    description:
                        "projections have already run on this database; restore into a new database and adopt before starting any service"
                )
            }
            try connection.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
            let renumbered = try connection.execute(
                "WITH moved AS (UPDATE events SET tx_id = $1::xid8 RETURNING 1) SELECT count(*) FROM moved",
                [adoptedTransactionID])
            try connection.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
            try connection.execute(
                "SELECT setval(pg_get_serial_sequence('events', 'position'), max(position)) FROM events HAVING count(*) > 0")
            return renumbered[0].int(0) ?? 0
        }
    }
}
