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
        let rows = try await app.store.pool.execute(sql, parameters)
        let count = min(rows.count, limit)
        var next = ""
        if rows.count > limit, let last = rows[count - 1].int64(0) {
            next = EmailHistoryCursor(lastSeq: last, after: after).text
        }
        // Written straight to bytes (no JSON tree): a page is 100-1,000 items of 15 members.
        var out: [UInt8] = []
        out.reserveCapacity(64 + count * 420)
        out.append(contentsOf: #"{"Emails":["#.utf8)
        for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            Self.writeEmail(rows[i], into: &out)
        }
        out.append(contentsOf: #"],"Next":"#.utf8)
        JSON.writeString(next, into: &out)
        out.append(UInt8(ascii: "}"))
        return .json(bytes: out)
    }

    /// One history item in the seed's member order.
    static func writeEmail(_ r: PostgresRow, into out: inout [UInt8]) {
        func member(_ name: StaticString, _ first: Bool = false) { JSON.writeMember(name, first: first, into: &out) }
        func text(_ column: Int) { JSON.writeString(r[column] ?? "", into: &out) }
        func number(_ column: Int) { out.append(contentsOf: (r[column] ?? "0").utf8) }
        member("Email", true); text(2)
        member("Type"); text(3)
        member("MessageId"); text(1)
        member("SentAt"); number(4)
        member("LastUpdated"); number(5)
        member("State"); JSON.writeString(r[6] ?? EmailState.sent.rawValue, into: &out)
        member("BrandId"); text(7)
        member("OwnerId"); text(8)
        member("MsgDetails")
        // Stored as compact JSON text already in the seed's member order (see `orderedMsgDetails`).
        if let details = r[9], details.utf8.first == UInt8(ascii: "{") {
            out.append(contentsOf: details.utf8)
        } else {
            out.append(contentsOf: "{}".utf8)
        }
        member("ComplaintType"); text(10)
        member("BounceType"); text(11)
        member("BounceSubType"); text(12)
        member("BounceDetails"); text(13)
        member("DeliveredDate"); number(14)
        out.append(UInt8(ascii: "}"))
    }

    static let msgDetailsOrder = ["To", "Type", "BrandId", "Token", "NumPhotos", "GroupId", "OrderId"]

    /// MsgDetails in the seed's member order (the known members first, then the rest as sent);
    /// the projection stores them so, and the page splices the stored text as it is.
    static func orderedMsgDetails(_ details: JSON) -> JSON {
        guard let stored = details.objectValue else { return details }
        var o = JSONObject()
        for k in msgDetailsOrder { if let v = stored[k] { o[k] = v } }
        for (k, v) in stored.members where !msgDetailsOrder.contains(k) { o[k] = v }
        return .object(o)
    }
}
