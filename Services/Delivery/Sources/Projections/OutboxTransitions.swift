import Domain
import JSON
import Postgres

/// One message event as it moves a row of `delivery_outbox`.
struct OutboxMove: Sendable {
    var tenant: String
    var messageHex: String
    /// The stream version the event is at.
    var version: Int64
    var type: String
    var data: JSON

    /// Tenant and message, as `DueMessage.key`.
    var key: String { DueMessage.key(tenant: tenant, messageHex: messageHex) }
}

/// How each message event moves a row of `delivery_outbox`. Both the projection (for every
/// event in the table) and the worker (right after its own appends) call `apply`, so the row
/// always agrees with the events; the `version` guard makes the second application a no-op.
///
/// The table holds the work still to do, nothing else: a row is `pending`, due at `due_at`, from
/// its request until its outcome, and `sent` or `dropped` removes it (until a resend makes it due
/// again). Kept rows of finished messages were never read, yet each was written once more at its
/// outcome and again at every provider event, and the table grew by a row for every message ever
/// sent. Only the projection applies requests and resends (the worker applies outcomes, to rows
/// the projection created), each event once, so a removed row never comes back from an event
/// older than its removal.
///
/// A claim (`queued`) leaves the row as it is: the worker that appended it keeps the message in
/// its in-flight set until the outcome has moved the row, and skips it when it picks; a new
/// leader finds the rows of messages the old one had in flight still due, and the stream's
/// `queued` tells it they were claimed (`MessageSender.endsInAbandonedClaim`). Moving every row
/// to a `sending` state at its claim was one more row version and index entry for every message,
/// the costliest outbox statement of a send. Rows that earlier versions left `sending` are picked
/// when their `lease_until` passes, or at once by a new leader.
///
/// A batch of moves costs at most three statements (an INSERT for requests and resends, an
/// UPDATE for retries and provider events, a DELETE for outcomes), whatever its size: a row may
/// appear only once per statement, so moves of the same message are split into successive layers
/// applied in order.
enum OutboxTransitions {
    /// Applies `moves` in order (moves of one message must come in version order).
    static func apply(_ moves: [OutboxMove], on c: PostgresConnection) throws {
        let effective = withoutOverwritten(moves)
        guard !effective.isEmpty else { return }
        let layers = layers(effective)
        func run() throws {
            // A change (UPDATE) or removal (DELETE) joins its batch to the outbox: probe the
            // primary key for each row, whatever the table's size or statistics. With hash joins
            // allowed the planner scans the whole table for every batch while it is small or not
            // yet analyzed (a young table), a cost that grows with the table (measured: two
            // thirds of the UPDATE's time by the end of a 10,000-message run). Until the end of
            // this transaction only.
            if effective.contains(where: { effect($0) != .makeDue }) {
                try c.execute("SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)")
            }
            for layer in layers {
                var due: [OutboxMove] = []
                var changes: [(OutboxMove, Change)] = []
                var finished: [OutboxMove] = []
                for move in layer {
                    switch effect(move) {
                    case .makeDue: due.append(move)
                    case .change(let change): changes.append((move, change))
                    case .remove: finished.append(move)
                    case .unchanged: break
                    }
                }
                try makeDue(due, c)
                try update(changes, c)
                try remove(finished, c)
            }
        }
        if c.isInTransaction { try run() } else { try c.transaction { try run() } }
    }

    /// Splits moves so that no message appears twice in one layer, keeping each message's order.
    static func layers(_ moves: [OutboxMove]) -> [[OutboxMove]] {
        var layers: [[OutboxMove]] = []
        var seen: [String: Int] = [:]
        for m in moves {
            let index = seen[m.key, default: 0]
            seen[m.key] = index + 1
            if index == layers.count { layers.append([]) }
            layers[index].append(m)
        }
        return layers
    }

    /// `moves` without those that do nothing (`unchanged`) and those whose every effect a later
    /// move of the same message overwrites, so a batch holding a message's retry and its next
    /// outcome writes its row once (each UPDATE writes a new row version and index entries).
    /// Exact: a later move has a higher version, so it applies whenever the dropped one would
    /// have, and it sets every column the dropped one sets (a removal sets them all). Requests and
    /// resends (`makeDue`) are always kept and never count as overwriting.
    static func withoutOverwritten(_ moves: [OutboxMove]) -> [OutboxMove] {
        var later: [String: Change.Columns] = [:]
        var kept = [Bool](repeating: true, count: moves.count)
        var dropped = false
        for i in moves.indices.reversed() {
            let columns: Change.Columns
            switch effect(moves[i]) {
            case .makeDue: continue
            case .unchanged:
                kept[i] = false
                dropped = true
                continue
            case .change(let change): columns = change.columns
            case .remove: columns = .all
            }
            let key = moves[i].key
            if let overwritten = later[key] {
                if overwritten.isSuperset(of: columns) {
                    kept[i] = false
                    dropped = true
                } else {
                    later[key] = overwritten.union(columns)
                }
            } else {
                later[key] = columns
            }
        }
        guard dropped else { return moves }
        return moves.indices.compactMap { kept[$0] ? moves[$0] : nil }
    }

    /// What one message event does to its row.
    enum Effect: Equatable {
        /// Creates the row, due now; or makes an existing row of an older version due now again.
        case makeDue
        /// Changes columns of the existing row (nothing when there is none).
        case change(Change)
        /// Removes the row: the message is finished.
        case remove
        /// Leaves the row as it is (a claim: see the type's documentation).
        case unchanged
    }

    /// The effect of one event (pure).
    static func effect(_ m: OutboxMove) -> Effect {
        switch m.type {
        case EventCatalog.messageRequested, EventCatalog.messageTriggered, EventCatalog.messageResendRequested:
            return .makeDue
        case EventCatalog.messageQueued:
            return .unchanged
        case EventCatalog.messageFailedToSend:
            return .change(
                Change(
                    state: "pending", clearsLease: true,
                    dueSeconds: Double(m.data["next_retry_at"]?.intValue ?? 0) / 1000,
                    attempts: m.data["attempt"]?.intValue ?? 1))
        case EventCatalog.messageSent, EventCatalog.messageDropped:
            return .remove
        default:
            // Provider events and anything else: only the version moves (the worker claims a
            // row with its version as the stream's expected one).
            return .change(Change())
        }
    }

    /// What an event changes on an existing row.
    struct Change: Equatable {
        /// The new state; nil keeps it.
        var state: String?
        /// Whether it clears `lease_until` (set only on rows earlier versions left `sending`).
        var clearsLease = false
        /// `due_at`, in seconds since 1970: nil keeps it.
        var dueSeconds: Double?
        /// `attempts`: nil keeps it.
        var attempts: Int?

        /// The columns it sets besides `version`.
        struct Columns: OptionSet {
            let rawValue: UInt8
            static let state = Columns(rawValue: 1)
            static let lease = Columns(rawValue: 2)
            static let due = Columns(rawValue: 4)
            static let attempts = Columns(rawValue: 8)
            static let all: Columns = [.state, .lease, .due, .attempts]
        }

        var columns: Columns {
            var c: Columns = []
            if state != nil { c.insert(.state) }
            if clearsLease { c.insert(.lease) }
            if dueSeconds != nil { c.insert(.due) }
            if attempts != nil { c.insert(.attempts) }
            return c
        }
    }

    /// Requests and resends: the row, pending and due now; an existing row (a resend, or a
    /// request replayed onto its own row) only when it is older.
    private static func makeDue(_ moves: [OutboxMove], _ c: PostgresConnection) throws {
        guard !moves.isEmpty else { return }
        // Binary arrays: nothing to quote here, no `array_in` parsing in the server.
        try c.execute(
            """
            INSERT INTO delivery_outbox (tenant, message_hex, state, due_at, attempts, version)
            SELECT u.tenant, u.hex, 'pending', now(), 0, u.version
            FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(tenant, hex, version)
            ON CONFLICT (tenant, message_hex) DO UPDATE SET state = 'pending', due_at = now(), attempts = 0,
                lease_until = NULL, version = EXCLUDED.version
            WHERE delivery_outbox.version < EXCLUDED.version
            """,
            [PostgresBinaryArray(texts: moves.map(\.tenant)), PostgresBinaryArray(texts: moves.map(\.messageHex)),
             PostgresBinaryArray(int64s: moves.map(\.version))])
    }

    private static func update(_ changes: [(OutboxMove, Change)], _ c: PostgresConnection) throws {
        guard !changes.isEmpty else { return }
        try c.execute(
            """
            UPDATE delivery_outbox AS o SET
                state = COALESCE(u.state, o.state),
                lease_until = CASE WHEN u.clear_lease THEN NULL ELSE o.lease_until END,
                due_at = COALESCE(to_timestamp(u.due_at::float8), o.due_at),
                attempts = COALESCE(u.attempts::int, o.attempts),
                version = u.version
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bool[], $6::text[], $7::text[])
                AS u(tenant, hex, version, state, clear_lease, due_at, attempts)
            WHERE o.tenant = u.tenant AND o.message_hex = u.hex AND o.version < u.version
            """,
            // Binary arrays (no `array_in` parsing in the server); the two nullable numbers go
            // as text and are cast there.
            [PostgresBinaryArray(texts: changes.map(\.0.tenant)), PostgresBinaryArray(texts: changes.map(\.0.messageHex)),
             PostgresBinaryArray(int64s: changes.map(\.0.version)), PostgresBinaryArray(texts: changes.map(\.1.state)),
             PostgresBinaryArray(bools: changes.map(\.1.clearsLease)),
             PostgresBinaryArray(texts: changes.map { $0.1.dueSeconds.map { String($0) } }),
             PostgresBinaryArray(texts: changes.map { $0.1.attempts.map(String.init) })])
    }

    /// Outcomes: the finished messages' rows go (unless a newer event already moved them).
    private static func remove(_ moves: [OutboxMove], _ c: PostgresConnection) throws {
        guard !moves.isEmpty else { return }
        try c.execute(
            """
            DELETE FROM delivery_outbox AS o
            USING unnest($1::text[], $2::text[], $3::bigint[]) AS u(tenant, hex, version)
            WHERE o.tenant = u.tenant AND o.message_hex = u.hex AND o.version < u.version
            """,
            [PostgresBinaryArray(texts: moves.map(\.tenant)), PostgresBinaryArray(texts: moves.map(\.messageHex)),
             PostgresBinaryArray(int64s: moves.map(\.version))])
    }
}
