import Domain
import EventStore
import Postgres

/// The outbox of pending sends (`delivery_outbox`), from the message events. When a message
/// becomes due it notifies `OutboxWorker.notifyChannel` in its transaction, so the worker (in
/// whichever process holds the outbox lock) wakes exactly when the rows are committed.
final class OutboxProjection: Projection {
    let name = "delivery_outbox"

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        var moves: [OutboxMove] = []
        var due = false
        for e in events {
            guard let hex = EventCatalog.messageHex(ofStream: e.stream) else { continue }
            let move = OutboxMove(tenant: e.tenant, messageHex: String(hex), version: e.version, type: e.type, data: e.data)
            if OutboxTransitions.effect(move) == .makeDue { due = true }
            moves.append(move)
        }
        try OutboxTransitions.apply(moves, on: connection)
        if due { try connection.execute("SELECT pg_notify($1, '')", [OutboxWorker.notifyChannel]) }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("DELETE FROM delivery_outbox")
    }
}
