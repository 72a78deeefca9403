import Domain
import Foundation
import Postgres

/// Finds the logs that any of the given keys could name, for one tenant.
///
/// A log's own id and the hex inside our `Message-ID` (`log_<hex>@host`) name its stream, which
/// the event table holds from the moment the message was requested: they are looked up there,
/// so matching them never waits for a projection. The provider's message id is known only from
/// the `sent` event; `webhook_correlation` keeps those (one row per log that has one).
enum CorrelationLookup {
    /// Candidate logs for `keys` (one query, whatever the number of keys).
    static func candidates(tenant: String, keys: [CorrelationKeys], on connection: PostgresConnection) throws
        -> [CorrelatedLog]
    {
        let hexes = Array(Set(keys.flatMap(\.hexes)))
        let providerIDs = Array(Set(keys.compactMap(\.providerMessageID)))
        guard !hexes.isEmpty || !providerIDs.isEmpty else { return [] }
        // A Message-ID of ours is matched by the hex inside it (`hexes`); one that is not ours
        // names no log of ours. Rows written before provider-id-only rows (one per requested log)
        // need no hex match here either: their logs' streams are in the event table.
        let rows = try connection.execute(
            """
            SELECT message_hex, log_id, message_id_header, provider_message_id, false FROM webhook_correlation
             WHERE tenant = $1 AND provider_message_id = ANY($2::text[])
            UNION ALL
            SELECT stream, NULL, NULL, NULL, true FROM events
             WHERE tenant = $1 AND stream = ANY($3::text[]) AND version = 1
            """,
            [
                tenant, PostgresArray(providerIDs),
                PostgresArray(hexes.map { EventCatalog.messageStream(messageHex: $0) }),
            ])
        return rows.rows.compactMap { row in
            if row.bool(4) == true {
                guard let hex = row[0].flatMap(EventCatalog.messageHex(ofStream:)) else { return nil }
                let messageHex = String(hex)
                return CorrelatedLog(messageHex: messageHex, logID: "log_" + messageHex, messageIDHeader: nil, providerMessageID: nil)
            }
            return CorrelatedLog(messageHex: row[0] ?? "", logID: row[1] ?? "", messageIDHeader: row[2], providerMessageID: row[3])
        }
    }
}
