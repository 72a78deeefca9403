import Foundation
import JSON
import Postgres

/// Reads events in global commit order without ever skipping one.
///
/// Positions come from a sequence, so a transaction that took position 10 can commit after
/// one that took 11; a reader that saw 11 and checkpointed there would never see 10. Instead we
/// read only events whose transaction id is below the oldest transaction still running
/// (`pg_snapshot_xmin(pg_current_snapshot())`): every such transaction has finished, so nothing
/// can appear behind the checkpoint. Events are ordered by (transaction id, position), and the
/// checkpoint is that pair.
public enum EventReader {
    static let columns = "position, event_id, tenant, stream, version, type, data, metadata, tx_id::text AS tx_text, extract(epoch from recorded_at) AS recorded_epoch"

    /// Up to `limit` events after `checkpoint` in commit order.
    ///
    /// With `types`, every event still comes back (the checkpoint must pass them all) but only
    /// those of these types carry their `data` and `metadata`; the others have `.null` for both,
    /// so a reader that ignores them neither receives nor parses their JSON.
    public static func read(
        after checkpoint: Checkpoint, limit: Int, types: Set<String>? = nil, on connection: PostgresConnection
    ) throws -> [RecordedEvent] {
        // With types, the JSON of other events stays on the server.
        let payload =
            types == nil
            ? "data, metadata"
            : "CASE WHEN type = ANY($4::text[]) THEN data END, CASE WHEN type = ANY($4::text[]) THEN metadata END"
        var parameters: [any PostgresEncodable] = [String(checkpoint.transactionID), checkpoint.position, limit]
        if let types { parameters.append(PostgresArray(types.sorted())) }
        let rows = try connection.execute(
            """
            SELECT position, event_id, tenant, stream, version, type, \(payload),
                tx_id::text AS tx_text, extract(epoch from recorded_at) AS recorded_epoch
            FROM events
            WHERE (tx_id, position) > ($1::xid8, $2::bigint)
              AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY events.tx_id, events.position
            LIMIT $3
            """, parameters)
        return try rows.rows.map(decode)
    }

    /// All events of one stream in version order.
    public static func readStream(tenant: String, stream: String, on connection: PostgresConnection) throws -> [RecordedEvent] {
        let rows = try connection.execute(
            "SELECT \(columns) FROM events WHERE tenant = $1 AND stream = $2 ORDER BY events.version", [tenant, stream])
        return try rows.rows.map(decode)
    }

    static func decode(_ r: PostgresRow) throws -> RecordedEvent {
        RecordedEvent(
            position: r.int64(0) ?? 0,
            id: r[1].flatMap(UUID.init(text:)) ?? UUID(),
            tenant: r[2] ?? "",
            stream: r[3] ?? "",
            version: r.int64(4) ?? 0,
            type: r[5] ?? "",
            data: try r[6].map { try JSON.parse(Array($0.utf8)) } ?? .null,
            metadata: try r[7].map { try JSON.parse(Array($0.utf8)) } ?? .null,
            transactionID: UInt64(r[8] ?? "0") ?? 0,
            recordedAt: r.double(9) ?? 0)
    }
}
