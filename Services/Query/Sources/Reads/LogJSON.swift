import Domain
import Foundation
import JSON
import Postgres

/// Shapes `query_logs` rows as the sendwithus log object (seed 002).
enum LogJSON {
    /// The columns `object(from:)` reads, in order.
    static let columns =
        "message_id, created, recipient_name, recipient_address, status, message, template_id, template_name, template_version"

    /// `{"object":"log","id","created","recipient_name","recipient_address","status","message",
    /// "email_id","email_name","email_version"}`.
    static func object(from r: PostgresRowReader) -> JSON {
        let id = r.string(0).flatMap(UUID.init(text:)).map { MessageIdentity($0).logID } ?? ""
        var o = JSONObject()
        o["object"] = "log"
        o["id"] = .string(id)
        o["created"] = .int64(r.int64(1) ?? 0)
        o["recipient_name"] = text(r.string(2))
        o["recipient_address"] = text(r.string(3))
        o["status"] = text(r.string(4))
        o["message"] = text(r.string(5))
        o["email_id"] = text(r.string(6))
        o["email_name"] = text(r.string(7))
        o["email_version"] = text(r.string(8))
        return .object(o)
    }

    static func text(_ s: String?) -> JSON { s.map(JSON.string) ?? .null }
}
