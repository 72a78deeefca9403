import Foundation
import Postgres

/// Reads `webhook_correlation`: the logs that any of the given keys could name, for one tenant.
enum CorrelationLookup {
    /// Candidate logs for `keys` (one query, whatever the number of keys).
    static func candidates(tenant: String, keys: [CorrelationKeys], on connection: PostgresConnection) throws
        -> [CorrelatedLog]
    {
        let hexes = Array(Set(keys.flatMap(\.hexes)))
        let headers = Array(Set(keys.compactMap(\.messageIDHeader)))
        let providerIDs = Array(Set(keys.compactMap(\.providerMessageID)))
        guard !hexes.isEmpty || !headers.isEmpty || !providerIDs.isEmpty else { return [] }
        let rows = try connection.execute(
            """
            SELECT message_hex, log_id, message_id_header, provider_message_id FROM webhook_correlation
             WHERE tenant = $1
               AND (message_hex = ANY($2::text[]) OR message_id_header = ANY($3::text[])
                    OR provider_message_id = ANY($4::text[]))
            """,
            [tenant, PostgresArray(hexes), PostgresArray(headers), PostgresArray(providerIDs)])
        return rows.rows.map {
            CorrelatedLog(messageHex: $0[0] ?? "", logID: $0[1] ?? "", messageIDHeader: $0[2], providerMessageID: $0[3])
        }
    }
}
