import EventStore
import Postgres
import Privacy

/// The query service's whole read model as one projection (runner `query`): customers and
/// message logs are applied from the same batch in the same transaction, so every event is read
/// and decoded once (two runners each read and parsed the whole table), and one checkpoint
/// says how far the read model is.
final class QueryProjections: QueryProjection {
    let name = "query"
    let activity = ProjectionActivity()
    let customers: CustomerProjection
    let logs: MessageLogProjection

    init(vault: PersonalDataVault) {
        customers = CustomerProjection(vault: vault)
        logs = MessageLogProjection(vault: vault)
    }

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        try customers.apply(events, on: connection)
        try logs.apply(events, on: connection)
        activity.didApply(events.count)
    }

    func reset(on connection: PostgresConnection) throws {
        try customers.reset(on: connection)
        try logs.reset(on: connection)
        activity.didReset()
    }
}
