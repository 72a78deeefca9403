import Domain
import EventStore
import Foundation
import HTTP
import JSON
import Postgres
import Service

/// `GET /customers/{id}`, `GET /customers/{id}/logs` and `GET /customers/{id}/events`.
struct CustomerRoutes {
    let app: ServiceApp

    /// The sendwithus reads; `withEvents` adds the tracked-events read (customer.io side,
    /// served under `/api/v1` only).
    func register(_ router: inout Router, consistency: ReadConsistency, withEvents: Bool) {
        router.get("/customers/:id", consistency.wrap(customer))
        router.get("/customers/:id/logs", consistency.wrap(logs))
        if withEvents { router.get("/customers/:id/events", consistency.wrap(events)) }
    }

    /// The seed 001 envelope with `customer.id` added; 404 when unknown or deleted. The path
    /// names a customer id (as given, then lowercased: ids that are emails are stored
    /// lowercased, see `CustomerIdentity`) or, failing that, a customer's email.
    func customer(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let id = try context.parameters.require("id")
        let rows = try await app.store.pool.execute(
            """
            SELECT customer_id, email, attributes, locale, created FROM query_customers
            WHERE tenant = $1 AND (customer_id = $2 OR customer_id = $3 OR lower(email) = $3)
            ORDER BY CASE WHEN customer_id = $2 THEN 0 WHEN customer_id = $3 THEN 1 ELSE 2 END, created
            LIMIT 1
            """, [tenant, id, id.lowercased()])
        guard let r = rows.rows.first else { throw HTTPError(.notFound, "customer not found") }
        var c = JSONObject()
        c["object"] = "customer"
        c["id"] = .string(r[0] ?? "")
        c["email"] = r[1].map(JSON.string) ?? .null
        c["data"] = (r[2].flatMap { try? JSON.parse($0) }) ?? .object([:])
        c["created"] = .int64(r.int64(4) ?? 0)
        c["locale"] = r[3].map(JSON.string) ?? .null
        return .json(["success": true, "status": "OK", "customer": .object(c)])
    }

    /// Logs sent to the address, newest first: `count` 1...100 (default 100), `created_lt` /
    /// `created_gt` unix seconds (exclusive).
    func logs(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let address = try context.parameters.require("id").lowercased()
        let count = try QueryParameter.int(request.query, "count", default: 100, in: 1...100)
        let before = try QueryParameter.timestamp(request.query, "created_lt")
        let after = try QueryParameter.timestamp(request.query, "created_gt")
        // Sent logs and scheduled drip steps (seed 001: "including scheduled drips"), newest first.
        var parameters: [any PostgresEncodable] = [tenant, address]
        var bounds = ""
        if let before {
            parameters.append(before)
            bounds += " AND created < $\(parameters.count)"
        }
        if let after {
            parameters.append(after)
            bounds += " AND created > $\(parameters.count)"
        }
        parameters.append(count)
        let sql = """
            SELECT \(LogJSON.columns) FROM (
                (SELECT \(LogJSON.columns), seq AS sort FROM query_logs
                 WHERE tenant = $1 AND has_request AND recipient_lower = $2\(bounds)
                 ORDER BY created DESC, seq DESC LIMIT $\(parameters.count))
                UNION ALL
                (SELECT message_id, created, recipient_name, recipient_address, 'scheduled',
                        'drip step scheduled for ' || to_char(to_timestamp(due_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                        template_id, NULL, NULL, position AS sort
                 FROM query_scheduled_drips WHERE tenant = $1 AND recipient_lower = $2\(bounds)
                 ORDER BY created DESC LIMIT $\(parameters.count))
            ) logs ORDER BY created DESC, sort DESC LIMIT $\(parameters.count)
            """
        let rows = try await app.store.pool.execute(sql, parameters)
        var out: [UInt8] = []
        out.reserveCapacity(64 + rows.count * 320)
        out.append(contentsOf: #"{"success":true,"status":"OK","logs":["#.utf8)
        for i in 0..<rows.count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            LogJSON.write(PostgresRowReader(row: rows[i]), into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return .json(bytes: out)
    }

    /// The customer's tracked events, newest first: `limit` 1...100 (default 100), `before` unix
    /// seconds (exclusive). 404 only when there is neither a profile nor an event.
    func events(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let id = try context.parameters.require("id")
        let limit = try QueryParameter.int(request.query, "limit", default: 100, in: 1...100)
        let before = try QueryParameter.timestamp(request.query, "before")
        var sql = """
            SELECT name, data, occurred_at FROM query_customer_events
            WHERE tenant = $1 AND (customer_id = $2 OR customer_id = $3)
            """
        var parameters: [any PostgresEncodable] = [tenant, id, CustomerIdentity.normalize(id)]
        if let before {
            // `before` is in seconds; events strictly before that second.
            parameters.append(before * 1000)
            sql += " AND occurred_at < $\(parameters.count)"
        }
        parameters.append(limit)
        sql += " ORDER BY occurred_at DESC, position DESC LIMIT $\(parameters.count)"
        let rows = try await app.store.pool.execute(sql, parameters)
        if rows.isEmpty {
            let known = try await app.store.pool.execute(
                """
                SELECT EXISTS (SELECT 1 FROM query_customers WHERE tenant = $1 AND customer_id IN ($2, $3))
                    OR EXISTS (SELECT 1 FROM query_customer_events WHERE tenant = $1 AND customer_id IN ($2, $3))
                """, [tenant, id, CustomerIdentity.normalize(id)])
            if known[0].bool(0) != true { throw HTTPError(.notFound, "customer not found") }
        }
        let events: [JSON] = rows.rows.map { r in
            let ms = r.int64(2) ?? 0
            return .object([
                "object": "event", "name": .string(r[0] ?? ""),
                "data": (r[1].flatMap { try? JSON.parse($0) }) ?? .object([:]),
                "timestamp": .int64(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)),
            ])
        }
        return .json(["success": true, "status": "OK", "events": .array(events)])
    }
}
