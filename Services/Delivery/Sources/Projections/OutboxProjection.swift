import Domain
import EventStore
import Postgres
import Synchronization

/// The outbox of pending sends (`delivery_outbox`), from the message events. Wakes the worker
/// in this process when a message becomes due.
final class OutboxProjection: Projection {
    let name = "delivery_outbox"
    let onPending: @Sendable () -> Void

    init(onPending: @escaping @Sendable () -> Void) { self.onPending = onPending }

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        var woke = false
        for e in events where e.stream.hasPrefix("message-") {
            let hex = String(e.stream.dropFirst("message-".count))
            try OutboxTransitions.apply(
                tenant: e.tenant, messageHex: hex, version: e.version, type: e.type, data: e.data, on: connection)
            if e.type == EventCatalog.messageRequested || e.type == EventCatalog.messageTriggered
                || e.type == EventCatalog.messageResendRequested
            {
                woke = true
            }
        }
        if woke { onPending() }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("DELETE FROM delivery_outbox")
    }
}
