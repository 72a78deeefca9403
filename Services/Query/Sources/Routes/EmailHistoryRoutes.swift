import Domain
import Foundation
import HTTP
import JSON
import Postgres
import Service

/// `GET /v1/Email/`: email history (seed 003) with `BrandId`, `State`, `After`, `Email`, `Next`
/// and `Limit` (1...1000, default 100). Errors use the seed's own shape `{"Error": "..."}`.
struct EmailHistoryRoutes {
    let app: ServiceApp

    func register(_ router: inout Router, consistency: ReadConsistency) {
        let handler = consistency.wrap(history)
        router.get("/v1/Email") { request, context in
            do { return try await handler(request, context) } catch let e as any HTTPResponseError {
                return .json(["Error": .string(e.httpMessage)], status: e.httpStatus)
            }
        }
    }

    static let columns = """
        seq, message_id, recipient_address, email_type, sent_at, last_updated, state, brand_id, owner_id, msg_details,
        complaint_type, bounce_type, bounce_sub_type, bounce_details, delivered_date
        """

    func history(_ request: HTTPRequest, _ context: RequestContext) async throws -> HTTPResponse {
        let tenant = try context.requireTenant()
        let q = request.query
        let limit = try QueryParameter.int(q, "Limit", default: 100, in: 1...1000)
        var cursor: EmailHistoryCursor? = nil
        if let next = q["Next"], !next.isEmpty {
            guard let c = EmailHistoryCursor(text: next) else {
                throw HTTPError(.badRequest, "Next is not a cursor from a previous page")
            }
            cursor = c
        }
        var sql = "SELECT \(Self.columns) FROM query_logs WHERE tenant = $1 AND has_request"
        var parameters: [any PostgresEncodable] = [tenant]
        var after: Int64? = nil
        if let email = q["Email"] {
            // Exact address; the other filters are ignored (seed 003).
            guard !email.isEmpty else { throw HTTPError(.badRequest, "Email must not be empty") }
            parameters.append(email.lowercased())
            sql += " AND recipient_lower = $\(parameters.count)"
        } else {
            if let brand = q["BrandId"] {
                guard !brand.isEmpty else { throw HTTPError(.badRequest, "BrandId must not be empty") }
                parameters.append(brand)
                sql += " AND brand_id = $\(parameters.count)"
            }
            if let stateText = q["State"] {
                guard let state = EmailState(rawValue: stateText) else {
                    throw HTTPError(.badRequest, "State must be one of sent, delivered, bounced, complaint")
                }
                parameters.append(state.rawValue)
                sql += " AND state = $\(parameters.count)"
            }
            if let text = q["After"] {
                guard let a = Int64(text), a >= 0 else {
                    throw HTTPError(.badRequest, "After must be a unix time in seconds (a non-negative integer)")
                }
                after = a
            }
            // A cursor keeps the bound paging started with.
            if let cursor { after = cursor.after }
            if let after {
                parameters.append(after)
                sql += " AND last_updated <= $\(parameters.count)"
            }
        }
        if let cursor {
            parameters.append(cursor.lastSeq)
            sql += " AND seq < $\(parameters.count)"
        }
        parameters.append(limit + 1)
        sql += " ORDER BY seq DESC LIMIT $\(parameters.count)"
        let rows = try await app.store.pool.execute(sql, parameters).rows
        let page = rows.prefix(limit)
        var next = ""
        if rows.count > limit, let last = page.last?.int64(0) {
            next = EmailHistoryCursor(lastSeq: last, after: after).text
        }
        return .json(["Emails": .array(page.map(Self.email)), "Next": .string(next)])
    }

    /// One history item in the seed's member order.
    static func email(_ r: PostgresRow) -> JSON {
        var o = JSONObject()
        o["Email"] = .string(r[2] ?? "")
        o["Type"] = .string(r[3] ?? "")
        o["MessageId"] = .string(r[1] ?? "")
        o["SentAt"] = .int64(r.int64(4) ?? 0)
        o["LastUpdated"] = .int64(r.int64(5) ?? 0)
        o["State"] = .string(r[6] ?? EmailState.sent.rawValue)
        o["BrandId"] = .string(r[7] ?? "")
        o["OwnerId"] = .string(r[8] ?? "")
        o["MsgDetails"] = msgDetails(r[9])
        o["ComplaintType"] = .string(r[10] ?? "")
        o["BounceType"] = .string(r[11] ?? "")
        o["BounceSubType"] = .string(r[12] ?? "")
        o["BounceDetails"] = .string(r[13] ?? "")
        o["DeliveredDate"] = .int64(r.int64(14) ?? 0)
        return .object(o)
    }

    static let msgDetailsOrder = ["To", "Type", "BrandId", "Token", "NumPhotos", "GroupId", "OrderId"]

    /// The stored MsgDetails in the seed's member order; `{}` when there are none (or they were
    /// erased).
    static func msgDetails(_ text: String?) -> JSON {
        guard let stored = text.flatMap({ try? JSON.parse($0) })?.objectValue else { return .object([:]) }
        var o = JSONObject()
        for k in msgDetailsOrder { if let v = stored[k] { o[k] = v } }
        for (k, v) in stored.members where !msgDetailsOrder.contains(k) { o[k] = v }
        return .object(o)
    }
}
