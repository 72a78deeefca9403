import Domain
import Foundation
import HTTP
import JSON

/// A validated sendwithus `POST /send` body.
struct SendRequest: Sendable {
    static let maximumCopies = 50

    var templateID: String
    var recipient: Mailbox
    var cc: [Mailbox]
    var bcc: [Mailbox]
    /// `{"address", "name"?, "reply_to"?}`.
    var sender: Mailbox?
    var replyTo: String?
    var emailData: JSONObject
    var versionName: String?
    var locale: String?
    var headers: JSONObject
    var tags: [String]

    static func validate(_ body: JSON) throws(HTTPError) -> SendRequest {
        guard case .object(let o) = body else { throw HTTPError(.badRequest, "body must be a JSON object") }
        guard let templateID = o["email_id"]?.stringValue, !templateID.isEmpty else {
            throw HTTPError(.badRequest, "email_id is required")
        }
        guard case .object? = o["recipient"] else { throw HTTPError(.badRequest, "recipient is required (an object with address)") }
        let recipient = try mailbox(o["recipient"], field: "recipient")
        var cc: [Mailbox] = []
        var bcc: [Mailbox] = []
        for (field, target) in [("cc", 0), ("bcc", 1)] {
            switch o[field] {
            case nil, .null?: continue
            case .array(let items)?:
                guard items.count <= maximumCopies else { throw HTTPError(.badRequest, "\(field) has more than \(maximumCopies) recipients") }
                let boxes = try items.map { item throws(HTTPError) in try mailbox(item, field: field) }
                if target == 0 { cc = boxes } else { bcc = boxes }
            default: throw HTTPError(.badRequest, "\(field) must be an array of {address, name}")
            }
        }
        var sender: Mailbox?
        var replyTo: String?
        switch o["sender"] {
        case nil, .null?: break
        case .object(let s)?:
            sender = try mailbox(.object(s), field: "sender")
            if let r = s["reply_to"], !r.isNull {
                guard let text = r.stringValue, EmailAddressRules.isValid(text) else {
                    throw HTTPError(.badRequest, "sender.reply_to is not a valid email address")
                }
                replyTo = text
            }
        default: throw HTTPError(.badRequest, "sender must be an object")
        }
        var emailData = JSONObject()
        switch o["email_data"] {
        case nil, .null?: break
        case .object(let d)?: emailData = d
        default: throw HTTPError(.badRequest, "email_data must be an object")
        }
        var headers = JSONObject()
        switch o["headers"] {
        case nil, .null?: break
        case .object(let h)?:
            for (name, value) in h.members {
                guard let v = value.stringValue else { throw HTTPError(.badRequest, "headers values must be strings") }
                let header = MailHeaderCheck(name: name, value: v)
                guard header.isAcceptable else {
                    throw HTTPError(.badRequest, "headers may not set \(name.prefix(40)) or contain line breaks")
                }
            }
            headers = h
        default: throw HTTPError(.badRequest, "headers must be an object")
        }
        var tags: [String] = []
        switch o["tags"] {
        case nil, .null?: break
        case .array(let items)?:
            for t in items {
                guard let s = t.stringValue else { throw HTTPError(.badRequest, "tags must be strings") }
                tags.append(s)
            }
        default: throw HTTPError(.badRequest, "tags must be an array of strings")
        }
        func optionalString(_ key: String) throws(HTTPError) -> String? {
            switch o[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s.isEmpty ? nil : s
            default: throw HTTPError(.badRequest, "\(key) must be a string")
            }
        }
        return SendRequest(
            templateID: templateID, recipient: recipient, cc: cc, bcc: bcc, sender: sender, replyTo: replyTo,
            emailData: emailData, versionName: try optionalString("version_name"), locale: try optionalString("locale"),
            headers: headers, tags: tags)
    }

    static func mailbox(_ value: JSON?, field: String) throws(HTTPError) -> Mailbox {
        guard case .object(let o)? = value, let address = o["address"]?.stringValue else {
            throw HTTPError(.badRequest, "\(field).address is required")
        }
        let name: String?
        switch o["name"] {
        case nil, .null?: name = nil
        case .string(let s)?: name = s
        default: throw HTTPError(.badRequest, "\(field).name must be a string")
        }
        guard let box = Mailbox(address: address, name: name) else {
            throw HTTPError(.badRequest, "\(field).address is not a valid email address")
        }
        return box
    }

    /// The sealed part of `message.requested`.
    var personal: JSON {
        var o: JSONObject = ["recipient": recipient.json, "cc": .array(cc.map(\.json)), "bcc": .array(bcc.map(\.json))]
        if let sender {
            var s = sender.json.objectValue ?? [:]
            if let replyTo { s["reply_to"] = .string(replyTo) }
            o["sender"] = .object(s)
        }
        o["email_data"] = .object(emailData)
        o["headers"] = .object(headers)
        o["tags"] = .array(tags.map(JSON.string))
        return .object(o)
    }
}

/// Whether a caller-supplied header may go into the message.
struct MailHeaderCheck {
    var name: String
    var value: String

    static let refused: Set<String> = [
        "from", "sender", "reply-to", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version",
        "content-type", "content-transfer-encoding", "return-path", "x-smtpapi", "x-mailgun-variables",
    ]

    var isAcceptable: Bool {
        !name.isEmpty && name.utf8.count <= 76
            && name.utf8.allSatisfy { $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") }
            && !Self.refused.contains(name.lowercased()) && !value.contains("\r") && !value.contains("\n")
            && value.utf8.count <= 998
    }
}
