import Domain
import EventStore
import JSON
import Postgres

/// Brands as last saved (`delivery_brands`); the row's body is the event's data.
final class BrandProjection: Projection {
    let name = "delivery_brands"

    /// The types `apply` acts on (the runner skips the JSON of the others).
    let eventTypes: Set<String>? = [EventCatalog.brandSaved]

    func apply(_ events: [RecordedEvent], on connection: PostgresConnection) throws {
        for e in events where e.type == EventCatalog.brandSaved {
            guard let id = e.string("brand_id") else { continue }
            try connection.execute(
                """
                INSERT INTO delivery_brands (tenant, brand_id, body, updated_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant, brand_id) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at
                """, [e.tenant, id, e.data.text, e.occurredAtMilliseconds / 1000])
        }
    }

    func reset(on connection: PostgresConnection) throws {
        try connection.execute("DELETE FROM delivery_brands")
    }
}
