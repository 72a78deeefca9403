import Domain
import Foundation
import HTTP
import JSON
import Postgres
import Service

/// `GET /logs/{log_id}` (the bare log object) and `GET /logs/{log_id}/events` (the bare array
/// of events, oldest first). `log_id` is `log_<32 hex>`, the 32 hex digits, or the UUID.
struct LogRoutes {
    let app: ServiceApp

    func register(_ router: inout Router, consistency: ReadConsistency) {
        router.get("/logs/:log_id", consistency.wrap(log))
        router.get("/logs/:log_id/events", consistency.wrap(events))
    }

    static func identity(_ context: RequestContext) throws -> MessageIdentity {
        let text = try context.parameters.require("log_id")
        guard let identity = MessageIdentity(parsing: text) else {
            throw HTTPError(.badRequest, "log_id must be log_ followed by 32 hex digits, or a UUID")
        }
        return identity
    }

    func log(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let identity = try Self.identity(context)
        let rows = try await app.store.pool.execute(
            "SELECT \(LogJSON.columns) FROM query_logs WHERE tenant = $1 AND message_id = $2 AND has_request",
            [tenant, identity.uuid])
        guard let r = rows.rows.first else { throw HTTPError(.notFound, "log not found") }
        var out: [UInt8] = []
        out.reserveCapacity(320)
        LogJSON.write(PostgresRowReader(row: r), into: &out)
        return .json(bytes: out)
    }

    func events(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let identity = try Self.identity(context)
        let rows = try await app.store.pool.withConnection { c in
            let exists = try c.execute(
                "SELECT 1 FROM query_logs WHERE tenant = $1 AND message_id = $2 AND has_request", [tenant, identity.uuid])
            if exists.isEmpty { return nil as [MessageLogEvent]? }
            let rows = try c.execute(
                "SELECT \(LogEventRow.columns) FROM query_log_events WHERE tenant = $1 AND message_id = $2 ORDER BY position",
                [tenant, identity.uuid])
            return rows.rows.compactMap { LogEventRow.event(from: PostgresRowReader(row: $0)) }
        }
        guard let rows else { throw HTTPError(.notFound, "log not found") }
        return .json(LogTimeline(events: rows).eventsJSON)
    }
}
