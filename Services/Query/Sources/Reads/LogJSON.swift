import Domain
import Foundation
import JSON
import Postgres

/// Shapes `query_logs` rows as the sendwithus log object (seed 002), written straight to bytes:
/// a customer's logs page holds up to 100 of them.
enum LogJSON {
    /// The columns `write(_:into:)` reads, in order.
    static let columns =
        "message_id, created, recipient_name, recipient_address, status, message, template_id, template_name, template_version"

    /// `{"object":"log","id","created","recipient_name","recipient_address","status","message",
    /// "email_id","email_name","email_version"}`; absent text is `null`.
    static func write(_ r: PostgresRowReader, into out: inout [UInt8]) {
        func member(_ name: StaticString) { JSON.writeMember(name, into: &out) }
        func text(_ column: Int) {
            if let s = r.string(column) { JSON.writeString(s, into: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        let id = r.string(0).flatMap(UUID.init(text:)).map { MessageIdentity($0).logID } ?? ""
        JSON.writeMember("object", first: true, into: &out)
        JSON.writeString("log", into: &out)
        member("id"); JSON.writeString(id, into: &out)
        member("created"); out.append(contentsOf: String(r.int64(1) ?? 0).utf8)
        member("recipient_name"); text(2)
        member("recipient_address"); text(3)
        member("status"); text(4)
        member("message"); text(5)
        member("email_id"); text(6)
        member("email_name"); text(7)
        member("email_version"); text(8)
        out.append(UInt8(ascii: "}"))
    }
}
